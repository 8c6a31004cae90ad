//! Ampache's numbered search operators (`rule_N_operator`, spec §6.1): what each
//! number means depends on how the rule's field compares.

use crate::model::{FieldKind, Operator};

const TEXT: [Operator; 10] = [
    Operator::Contains,
    Operator::NotContains,
    Operator::StartsWith,
    Operator::EndsWith,
    Operator::Is,
    Operator::IsNot,
    Operator::SoundsLike,
    Operator::NotSoundsLike,
    Operator::Matches,
    Operator::NotMatches,
];

const NUMERIC: [Operator; 6] = [
    Operator::AtLeast,
    Operator::AtMost,
    Operator::Equals,
    Operator::NotEquals,
    Operator::GreaterThan,
    Operator::LessThan,
];

/// The operator numbered `number` for a field of `kind`; None when the number means
/// nothing for that kind.
pub fn operator(kind: FieldKind, number: i64) -> Option<Operator> {
    let index = usize::try_from(number).ok()?;
    match kind {
        FieldKind::Text => TEXT.get(index).copied(),
        FieldKind::Numeric => NUMERIC.get(index).copied(),
        FieldKind::Boolean | FieldKind::Ids | FieldKind::Subsearch => {
            [Operator::Is, Operator::IsNot].get(index).copied()
        }
        FieldKind::Date | FieldKind::Days => {
            [Operator::Before, Operator::After].get(index).copied()
        }
        // 0: loved by the user; 1 to 5: rated 5 down to 1 star by them.
        FieldKind::UserNumeric => match index {
            0 => Some(Operator::LovedBy),
            1..=5 => Some(Operator::RatedBy(6 - index as u8)),
            _ => None,
        },
        // "The N most recent": the number does not matter.
        FieldKind::Recent => Some(Operator::Is),
        // Text operators 0 to 9, then the numeric ones as 10 to 15.
        FieldKind::Metadata => TEXT
            .get(index)
            .or_else(|| NUMERIC.get(index.checked_sub(10)?))
            .copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_mean_what_the_spec_says() {
        assert_eq!(operator(FieldKind::Text, 0), Some(Operator::Contains));
        assert_eq!(operator(FieldKind::Text, 9), Some(Operator::NotMatches));
        assert_eq!(operator(FieldKind::Text, 10), None);
        assert_eq!(operator(FieldKind::Numeric, 5), Some(Operator::LessThan));
        assert_eq!(operator(FieldKind::Numeric, 6), None);
        assert_eq!(operator(FieldKind::Numeric, -1), None);
        assert_eq!(
            operator(FieldKind::UserNumeric, 1),
            Some(Operator::RatedBy(5))
        );
        assert_eq!(
            operator(FieldKind::UserNumeric, 5),
            Some(Operator::RatedBy(1))
        );
        assert_eq!(operator(FieldKind::Metadata, 12), Some(Operator::Equals));
        assert_eq!(operator(FieldKind::Metadata, 16), None);
        assert_eq!(operator(FieldKind::Date, 1), Some(Operator::After));
    }
}
