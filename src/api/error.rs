//! The one place that knows Ampache's error codes (section 3 of the spec).

/// An Ampache API error: a code and an English message, sent with HTTP 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(code: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// 401: the handshake's credentials were refused.
    pub fn bad_handshake() -> ApiError {
        ApiError::new(
            401,
            "Received Invalid Handshake - Incorrect username or password",
        )
    }

    pub fn timestamp_out_of_range() -> ApiError {
        ApiError::new(
            401,
            "Received Invalid Handshake - Login failed, timestamp is out of range",
        )
    }

    /// 401: no session, or an expired one.
    pub fn session_expired() -> ApiError {
        ApiError::new(401, "Session Expired")
    }

    /// 401: a required parameter is absent or empty.
    pub fn missing(name: &str) -> ApiError {
        ApiError::new(401, format!("Missing mandatory parameter '{name}'"))
    }

    /// 401: a parameter is present but unusable.
    pub fn bad_parameter(name: &str, why: &str) -> ApiError {
        ApiError::new(401, format!("Invalid parameter '{name}': {why}"))
    }

    /// 400: more parameters than any method takes; refused before reading them all.
    pub fn too_many_parameters(max: usize) -> ApiError {
        ApiError::new(400, format!("Bad Request: more than {max} parameters"))
    }

    /// 403: the client's address is not allowed by the ACLs.
    pub fn acl_denied() -> ApiError {
        ApiError::new(403, "Unauthorized access attempt to API - ACL Error")
    }

    /// 400: the user's access level is below the method's.
    pub fn access_denied() -> ApiError {
        ApiError::new(400, "User does not have access to this function")
    }

    /// 405: no such method.
    pub fn invalid_request() -> ApiError {
        ApiError::new(405, "Invalid Request")
    }

    /// 501: the API is switched off.
    pub fn access_control_disabled() -> ApiError {
        ApiError::new(501, "Access Control not Enabled")
    }

    /// An internal failure, reported without details (they go to the log).
    pub fn internal() -> ApiError {
        ApiError::new(
            400,
            "The server could not complete the request; see its log",
        )
    }
}

/// Parameter errors, as Ampache reports them.
impl From<crate::model::ParamError> for ApiError {
    fn from(error: crate::model::ParamError) -> ApiError {
        use crate::model::ParamError;
        match error {
            ParamError::Missing(name) => ApiError::missing(&name),
            ParamError::Bad { name, why } => ApiError::bad_parameter(&name, &why),
            ParamError::TooMany(max) => ApiError::too_many_parameters(max),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> ApiError {
        match error {
            crate::store::StoreError::Db(e) => {
                tracing::error!("store error: {e}");
                ApiError::internal()
            }
            crate::store::StoreError::Native(e) | crate::store::StoreError::Duplicate(e) => {
                tracing::error!("store error: {e}");
                ApiError::internal()
            }
            crate::store::StoreError::Conflict(m) | crate::store::StoreError::Invalid(m) => {
                ApiError::new(400, m)
            }
        }
    }
}
