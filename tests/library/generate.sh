#!/usr/bin/env bash
# Generates the small test music library in tests/library/music/ (see README.md
# beside this script for the manifest the tests rely on).
#
# Idempotent and reproducible: music/ is deleted and rebuilt, every encoder runs
# in bit-exact mode and every file gets the same fixed timestamp.
#
# Needs (Debian 12 packages):
#   ffmpeg         - encodes every file and writes most tags
#   python3-mutagen - writes the few tags ffmpeg 5.1 cannot write correctly
#                    (see retag() below and README.md, "Who wrote which tag")
#   libjmac-java   - `jmac`, the Java Monkey's Audio encoder, for the .ape file
#                    (pulls in a Java runtime)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT="$HERE/music"
STAMP='2024-01-01 00:00:00 UTC'
export LC_ALL=C.UTF-8 TZ=UTC

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "generate.sh: '$1' not found; install it with: apt-get install -y $2" >&2
        exit 1
    }
}
need ffmpeg ffmpeg
need jmac libjmac-java
# Debian's python3 (not a pyenv shim) is the one that sees python3-mutagen.
PYTHON=/usr/bin/python3
"$PYTHON" -c 'import mutagen' 2>/dev/null || {
    echo "generate.sh: python mutagen not found; install it with: apt-get install -y python3-mutagen" >&2
    exit 1
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

rm -rf "$OUT"
mkdir -p "$OUT"

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

FF=(ffmpeg -nostdin -hide_banner -v error -y)
EXACT=(-fflags +bitexact -flags:a +bitexact -map_metadata -1)

# Output options per format. Lossy formats use 22.05 kHz (opus: 48 kHz),
# lossless ones 8 kHz, all mono, to keep the library tiny.
MP3=(-c:a libmp3lame -b:a 32k -id3v2_version 4)
FLAC=(-c:a flac)
VORBIS=(-c:a libvorbis -q:a 0)
OPUS=(-c:a libopus -b:a 16k)
AAC=(-c:a aac -b:a 32k)
ALAC=(-c:a alac)
WAV=(-c:a pcm_s16le)
AIFF=(-c:a pcm_s16be -write_id3v2 1 -id3v2_version 4)
WAVPACK=(-c:a wavpack)

# md KEY=VALUE... : sets the array MD to "-metadata KEY=VALUE ..." for ffmpeg.
md() {
    MD=()
    local kv
    for kv in "$@"; do MD+=(-metadata "$kv"); done
}

# tone FILE SECONDS FREQ RATE [ffmpeg output options...]
# Encodes a mono sine tone. With ART=image.jpg|png in the environment, the
# image is embedded as the front cover (ID3 APIC / FLAC PICTURE, type 3).
tone() {
    local file=$1 secs=$2 freq=$3 rate=$4
    shift 4
    local inputs=(-f lavfi -i "sine=frequency=$freq:duration=$secs:sample_rate=$rate")
    local art=()
    if [[ -n ${ART:-} ]]; then
        inputs+=(-i "$ART")
        art=(-map 0:a -map 1:v -c:v copy -disposition:v attached_pic
            -metadata:s:v "title=Front cover" -metadata:s:v "comment=Cover (front)")
    fi
    mkdir -p "$(dirname "$OUT/$file")"
    "${FF[@]}" "${inputs[@]}" -ac 1 "${EXACT[@]}" "${art[@]}" "$@" "$OUT/$file"
}

# image FILE COLOUR : a 64x64 single-colour JPEG or PNG (by extension).
image() {
    mkdir -p "$(dirname "$1")"
    "${FF[@]}" -f lavfi -i "color=c=$2:s=64x64" -frames:v 1 \
        -fflags +bitexact -flags +bitexact -map_metadata -1 "$1"
}

# retag FILE [KEY=VALUE...] : adds tags with mutagen that ffmpeg 5.1 cannot write.
#   FLAC/Ogg/Opus: KEY=VALUE appends a Vorbis comment (repeat a KEY for several
#                  values); FLAC files are always re-saved without padding
#                  (ffmpeg's flac muxer adds 8 KiB of padding).
#   MP3/AIFF (ID3v2.4): TCMP, COMM, USLT, UFID (MusicBrainz recording id) or any
#                  text frame id; repeating a frame id makes a multi-valued
#                  (NUL-separated) frame.
#   APE:           writes an APEv2 tag with the given items.
#   M4A (iTunes):  KEY=VALUE appends a value to the atom KEY (as one more `data`
#                  box: how taggers store a second genre), re-saved without padding.
retag() {
    "$PYTHON" - "$OUT/$1" "${@:2}" <<'PY'
import sys
from collections import OrderedDict
import mutagen
from mutagen.apev2 import APEv2
from mutagen.id3 import Frames, COMM, USLT, UFID

path, pairs = sys.argv[1], sys.argv[2:]
items = OrderedDict()
for pair in pairs:
    key, _, value = pair.partition("=")
    items.setdefault(key, []).append(value)
ext = path.rsplit(".", 1)[-1].lower()
no_padding = lambda info: 0

if ext == "ape":
    tag = APEv2()
    for key, values in items.items():
        tag[key] = "\0".join(values)
    tag.save(path)
elif ext in ("flac", "ogg", "opus"):
    f = mutagen.File(path)
    for key, values in items.items():
        f.tags[key] = f.tags.get(key, []) + values
    f.save(padding=no_padding) if ext == "flac" else f.save()
elif ext in ("mp3", "aiff"):
    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    for key, values in items.items():
        if key in ("COMM", "USLT"):
            cls = COMM if key == "COMM" else USLT
            text = values if key == "COMM" else values[0]
            f.tags.add(cls(encoding=3, lang="eng", desc="", text=text))
        elif key == "UFID":
            f.tags.add(UFID(owner="http://musicbrainz.org", data=values[0].encode()))
        else:
            f.tags.add(Frames[key](encoding=3, text=values))
    f.save(v2_version=4, padding=no_padding)
elif ext == "m4a":
    f = mutagen.File(path)
    for key, values in items.items():
        f.tags[key] = f.tags.get(key, []) + values
    f.save(padding=no_padding)
else:
    sys.exit("retag: unsupported file " + path)
PY
}

# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------

image "$WORK/embedded-red.jpg" red     # embedded in "Everything Tagged" mp3
image "$WORK/embedded-blue.png" blue   # embedded in "Everything Tagged" flac

# ---------------------------------------------------------------------------
# 1. "Format Parade" by The Testers: one track per format, folder art cover.jpg
# ---------------------------------------------------------------------------

D="The Testers/Format Parade"
image "$OUT/$D/cover.jpg" green
fp() { # fp TRACK TITLE : common tags (ffmpeg generic keys)
    md title="$2" artist="The Testers" album="Format Parade" album_artist="The Testers" \
        track="$1/10" date=2020 genre=Electronic
}
fp 1 "MP3 Tone";    tone "$D/01 - MP3 Tone.mp3"    1 440 22050 "${MP3[@]}" "${MD[@]}"
# Vorbis comments: explicit TRACKNUMBER/TRACKTOTAL keys.
vc() { # vc TRACK TITLE
    md TITLE="$2" ARTIST="The Testers" ALBUM="Format Parade" ALBUMARTIST="The Testers" \
        TRACKNUMBER="$1" TRACKTOTAL=10 DATE=2020 GENRE=Electronic
}
vc 2 "FLAC Tone";   tone "$D/02 - FLAC Tone.flac"   1 494 8000 "${FLAC[@]}" "${MD[@]}"
retag "$D/02 - FLAC Tone.flac"
vc 3 "Vorbis Tone"; tone "$D/03 - Vorbis Tone.ogg"  1 523 22050 "${VORBIS[@]}" "${MD[@]}"
vc 4 "Opus Tone";   tone "$D/04 - Opus Tone.opus"   1 587 48000 "${OPUS[@]}" "${MD[@]}"
fp 5 "AAC Tone";    tone "$D/05 - AAC Tone.m4a"     1 659 22050 "${AAC[@]}" "${MD[@]}"
fp 6 "ALAC Tone";   tone "$D/06 - ALAC Tone.m4a"    1 698 8000 "${ALAC[@]}" "${MD[@]}"
# A second genre in the same atom (ffmpeg writes one value only).
retag "$D/06 - ALAC Tone.m4a" "©gen=Ambient"
# WAV: ffmpeg writes a LIST/INFO chunk (INAM IART IPRD IPRT ICRD IGNR); it has no
# field for the album artist.
fp 7 "WAV Tone";    tone "$D/07 - WAV Tone.wav"     1 784 8000 "${WAV[@]}" "${MD[@]}"
fp 8 "AIFF Tone";   tone "$D/08 - AIFF Tone.aiff"   1 880 8000 "${AIFF[@]}" "${MD[@]}"
# WavPack: ffmpeg writes the dictionary as an APEv2 tag verbatim, so use APE keys.
md Title="WavPack Tone" Artist="The Testers" Album="Format Parade" "Album Artist=The Testers" \
    Track=9/10 Year=2020 Genre=Electronic
tone "$D/09 - WavPack Tone.wv" 1 988 8000 "${WAVPACK[@]}" "${MD[@]}"
# Monkey's Audio: ffmpeg has no APE encoder; jmac compresses a bit-exact WAV
# ("Extra High", c4; ffmpeg decodes its output bit-identically, verify.sh checks
# it), mutagen tags it.
"${FF[@]}" -f lavfi -i "sine=frequency=1047:duration=1:sample_rate=8000" -ac 1 "${EXACT[@]}" \
    -c:a pcm_s16le "$WORK/ape-source.wav"
jmac c4 "$WORK/ape-source.wav" "$OUT/$D/10 - Monkey Tone.ape" >/dev/null
retag "$D/10 - Monkey Tone.ape" Title="Monkey Tone" Artist="The Testers" Album="Format Parade" \
    "Album Artist=The Testers" Track=10/10 Year=2020 Genre=Electronic

# ---------------------------------------------------------------------------
# 2. "Double Feature" by Orchestra Alpha: two discs in "Disc 1"/"Disc 2"
# ---------------------------------------------------------------------------

D="Orchestra Alpha/Double Feature"
df() { # df DISC TRACK TITLE FREQ
    md title="$3" artist="Orchestra Alpha" album="Double Feature" album_artist="Orchestra Alpha" \
        track="$2/2" disc="$1/2" date=2019 genre=Classical composer="Johann Example"
    tone "$D/Disc $1/0$2 - $3.mp3" 2 "$4" 22050 "${MP3[@]}" "${MD[@]}"
}
df 1 1 Overture 262
df 1 2 Allegro 294
df 2 1 Adagio 330
df 2 2 Finale 349

# ---------------------------------------------------------------------------
# 3. "Various Hits": compilation by Various Artists, folder art folder.png
# ---------------------------------------------------------------------------

D="Various Artists/Various Hits"
image "$OUT/$D/folder.png" yellow
md title="Alice Song" artist="Alice Example" album="Various Hits" album_artist="Various Artists" \
    track=1/3 date=2022 genre=Pop
tone "$D/01 - Alice Song.mp3" 1 392 22050 "${MP3[@]}" "${MD[@]}"
retag "$D/01 - Alice Song.mp3" TCMP=1
md TITLE="Bob Song" ARTIST="Bob Example" ALBUM="Various Hits" ALBUMARTIST="Various Artists" \
    TRACKNUMBER=2 TRACKTOTAL=3 DATE=2022 GENRE=Pop COMPILATION=1
tone "$D/02 - Bob Song.flac" 1 440 8000 "${FLAC[@]}" "${MD[@]}"
retag "$D/02 - Bob Song.flac"
md title="Carol Song" artist="Carol Example" album="Various Hits" album_artist="Various Artists" \
    track=3/3 date=2022 genre=Pop compilation=1
tone "$D/03 - Carol Song.m4a" 1 494 22050 "${AAC[@]}" "${MD[@]}"

# ---------------------------------------------------------------------------
# 4. "Café Ünïcødé" by Björk Ø: unicode names, multi-valued genres
# ---------------------------------------------------------------------------

D="Björk Ø/Café Ünïcødé"
md TITLE="日本語の歌" ARTIST="Björk Ø" ALBUM="Café Ünïcødé" ALBUMARTIST="Björk Ø" \
    TRACKNUMBER=1 TRACKTOTAL=2 DATE=2018 GENRE=Rock
tone "$D/01 - 日本語の歌.flac" 2 523 8000 "${FLAC[@]}" "${MD[@]}"
retag "$D/01 - 日本語の歌.flac" GENRE=Jazz          # second GENRE field
md title="Emoji 🎵 Song" artist="Björk Ø" album="Café Ünïcødé" album_artist="Björk Ø" \
    track=2/2 date=2018 genre="Rock;Pop"              # one TCON string "Rock;Pop"
tone "$D/02 - Emoji 🎵 Song.mp3" 2 587 22050 "${MP3[@]}" "${MD[@]}"

# ---------------------------------------------------------------------------
# 5. "Everything Tagged" by Tag Master: every tag plus embedded art, no folder art
# ---------------------------------------------------------------------------

D="Tag Master/Everything Tagged"
MB_ALBUM=c3b0a6b1-2d2f-4d3b-8e4f-000000000002
MB_ARTIST=d4c1b7c2-3e30-4e4c-9f50-000000000003
md title="Full MP3" artist="Tag Master" album="Everything Tagged" album_artist="Tag Master" \
    track=1/2 disc=1/1 date=2021-05-04 composer="Clara Composer" \
    "MusicBrainz Album Id=$MB_ALBUM" "MusicBrainz Artist Id=$MB_ARTIST" \
    "MusicBrainz Album Artist Id=$MB_ARTIST" \
    "REPLAYGAIN_TRACK_GAIN=-6.20 dB" REPLAYGAIN_TRACK_PEAK=0.988556 \
    "REPLAYGAIN_ALBUM_GAIN=-5.10 dB" REPLAYGAIN_ALBUM_PEAK=0.999969
ART="$WORK/embedded-red.jpg" tone "$D/01 - Full MP3.mp3" 3 440 22050 "${MP3[@]}" "${MD[@]}"
retag "$D/01 - Full MP3.mp3" TCON=Ambient TCON=Electronic "COMM=An mp3 comment" \
    "USLT=$(printf 'First line of the mp3 lyrics\nSecond line')" \
    UFID=b2a9f5a0-1c1e-4c2a-9d3e-000000000001
md TITLE="Full FLAC" ARTIST="Tag Master" ALBUM="Everything Tagged" ALBUMARTIST="Tag Master" \
    TRACKNUMBER=2 TRACKTOTAL=2 DISCNUMBER=1 DISCTOTAL=1 DATE=2021-05-04 GENRE=Ambient \
    COMPOSER="Clara Composer" LYRICS="$(printf 'First line of the flac lyrics\nSecond line')" \
    MUSICBRAINZ_TRACKID=b2a9f5a0-1c1e-4c2a-9d3e-000000000004 \
    MUSICBRAINZ_ALBUMID=$MB_ALBUM MUSICBRAINZ_ARTISTID=$MB_ARTIST \
    MUSICBRAINZ_ALBUMARTISTID=$MB_ARTIST \
    "REPLAYGAIN_TRACK_GAIN=-3.50 dB" REPLAYGAIN_TRACK_PEAK=0.750000 \
    "REPLAYGAIN_ALBUM_GAIN=-5.10 dB" REPLAYGAIN_ALBUM_PEAK=0.999969
ART="$WORK/embedded-blue.png" tone "$D/02 - Full FLAC.flac" 3 494 8000 "${FLAC[@]}" "${MD[@]}"
retag "$D/02 - Full FLAC.flac" "COMMENT=A flac comment"

# ---------------------------------------------------------------------------
# 6. A file without any tag (no ID3v2, no ID3v1): title comes from the name
# ---------------------------------------------------------------------------

tone "untagged/Some Untagged Song.mp3" 1 330 22050 -c:a libmp3lame -b:a 32k -id3v2_version 0

# ---------------------------------------------------------------------------
# 7. Files a scanner must skip or ignore
# ---------------------------------------------------------------------------

mkdir -p "$OUT/broken"
: >"$OUT/broken/empty.mp3"
# 4 KiB of deterministic noise (seeded) that is not FLAC (no "fLaC" marker).
"${FF[@]}" -f lavfi -i "anoisesrc=duration=0.5:sample_rate=8192:seed=42" -ac 1 \
    -fflags +bitexact -f u8 "$OUT/broken/corrupt.flac"
printf 'This is not audio.\nIt is a text file with an .mp3 extension.\n' >"$OUT/broken/not-audio.mp3"
printf 'Notes about the broken files.\nA .txt file is not audio and is ignored.\n' >"$OUT/broken/notes.txt"

# ---------------------------------------------------------------------------
# Fixed timestamps on everything
# ---------------------------------------------------------------------------

find "$OUT" -exec touch -h -d "$STAMP" {} +

echo "generated $(find "$OUT" -type f | wc -l) files in $OUT ($(du -sh "$OUT" | cut -f1))"
