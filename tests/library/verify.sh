#!/usr/bin/env bash
# Checks tests/library/music/ against the manifest table in README.md:
#   - every audio file in the table decodes with `ffmpeg -v error -i F -f null -`;
#   - its tags, as ffprobe (-show_format -show_streams) reads them, match the
#     row: title, artist, album, album artist, track/total, disc/total, year,
#     embedded art; the genres are checked on the raw tag values read with
#     mutagen (ffprobe shows only the first value of a multi-valued ID3 TCON);
#   - the special tags listed in README.md exist as the exact frames/fields;
#   - the files the README says must be skipped do not decode.
# It writes what ffprobe and mutagen see to probe/ffprobe.txt and probe/tags.txt.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LC_ALL=C.UTF-8
mkdir -p "$HERE/probe"
exec /usr/bin/python3 - "$HERE" <<'PY'
import json, os, re, subprocess, sys
import mutagen
from mutagen.id3 import ID3

here = sys.argv[1]
music = os.path.join(here, "music")
failures = []

def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)

# ---- the manifest table -------------------------------------------------
rows = []
readme = open(os.path.join(here, "README.md"), encoding="utf-8").read()
table = readme.split("<!-- manifest:start -->")[1].split("<!-- manifest:end -->")[0]
for line in table.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 12 or cells[0] in ("Path",) or set(cells[0]) <= set("-: "):
        continue
    path = cells[0].strip("`")
    rows.append(dict(path=path, title=cells[2], artist=cells[3], album=cells[4],
                     album_artist=cells[5], track=cells[6], disc=cells[7], year=cells[8],
                     genres=cells[9], art=cells[10], secs=cells[11]))

def absent(cell):
    return cell.startswith("—")

# ---- ffprobe --------------------------------------------------------------
def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                          "-of", "json", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)

def tags_of(info):
    tags = {}
    for stream in info.get("streams", []):      # Ogg keeps its tags on the stream
        if stream.get("codec_type") == "audio":
            tags.update({k.lower(): v for k, v in stream.get("tags", {}).items()})
    tags.update({k.lower(): v for k, v in info["format"].get("tags", {}).items()})
    return tags

def number(tags, key, total_key):
    value = tags.get(key)
    if value is None:
        return "—"
    if "/" not in value and tags.get(total_key):
        value += "/" + tags[total_key]
    return value

def raw_genres(path, tags):
    f = mutagen.File(path)
    values = []
    if f is not None and f.tags is not None:
        if isinstance(f.tags, ID3):
            for frame in f.tags.getall("TCON"):
                values += list(frame.text)
        else:
            for key in f.tags.keys():
                if key.lower() in ("genre", "\xa9gen"):
                    v = f.tags[key]
                    values += [str(x) for x in (v if isinstance(v, list) else [v])]
    elif tags.get("genre"):                       # WAV: mutagen cannot read LIST/INFO
        values = [tags["genre"]]
    out = []
    for v in values:
        for part in re.split(r"[;\0]", v):
            if part.strip():
                out.append(part.strip())
    return out

dump_probe = open(os.path.join(here, "probe", "ffprobe.txt"), "w", encoding="utf-8")
dump_tags = open(os.path.join(here, "probe", "tags.txt"), "w", encoding="utf-8")

for row in rows:
    rel = row["path"]
    path = os.path.join(music, rel)
    if not os.path.isfile(path):
        fail(f"{rel}: missing")
        continue
    dec = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
                         capture_output=True, text=True)
    if dec.returncode != 0 or dec.stderr.strip():
        fail(f"{rel}: does not decode cleanly: {dec.stderr.strip()}")
    text = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", path],
                          capture_output=True, text=True).stdout
    dump_probe.write(f"##### {rel}\n" + text.replace(music + "/", "") + "\n")
    f = mutagen.File(path)
    dump_tags.write(f"##### {rel}\n")
    if f is None or f.tags is None:
        dump_tags.write("(no tags that mutagen reads)\n\n")
    else:
        dump_tags.write(f.tags.pprint() + "\n" +
                        "".join(f"PICTURE type={p.type} mime={p.mime} bytes={len(p.data)}\n"
                                for p in getattr(f, "pictures", [])) + "\n")

    info = probe(path)
    tags = tags_of(info)
    year = tags.get("date") or tags.get("year")
    got = dict(
        title=tags.get("title", "—"),
        artist=tags.get("artist", "—"),
        album=tags.get("album", "—"),
        album_artist=tags.get("album_artist") or tags.get("album artist") or "—",
        track=number(tags, "track", "tracktotal"),
        disc=number(tags, "disc", "disctotal"),
        year=year[:4] if year else "—",
        art="yes" if any(s.get("disposition", {}).get("attached_pic") for s in info["streams"]) else "no",
    )
    for key, value in got.items():
        want = row[key]
        if absent(want):
            ok = value == "—"
        elif key == "art":
            ok = want.startswith(value)
        else:
            ok = value == want
        if not ok:
            fail(f"{rel}: {key} is {value!r}, README says {want!r}")
    genres = raw_genres(path, tags)
    want = [] if absent(row["genres"]) else [g.strip() for g in row["genres"].split(",")]
    if genres != want:
        fail(f"{rel}: genres are {genres!r}, README says {want!r}")
    secs = float(info["format"]["duration"])
    if abs(secs - float(row["secs"])) > 0.1:
        fail(f"{rel}: lasts {secs:.3f} s, README says {row['secs']}")
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    if len(audio) != 1 or audio[0].get("channels") != 1:
        fail(f"{rel}: expected one mono audio stream")

# ---- the special tags, at the frame/field level (mutagen) --------------------
def id3(rel):
    return ID3(os.path.join(music, rel))

def vorbis(rel):
    f = mutagen.File(os.path.join(music, rel))
    return {k.upper(): v for k, v in f.tags.as_dict().items()}, f

def expect(cond, msg):
    if not cond:
        fail(msg)

m = id3("Tag Master/Everything Tagged/01 - Full MP3.mp3")
expect(m.version[:2] == (2, 4), "Full MP3: not ID3v2.4")
expect(m["TCON"].text == ["Ambient", "Electronic"], "Full MP3: TCON")
expect(m["TCOM"].text == ["Clara Composer"], "Full MP3: TCOM")
expect(m["TDRC"].text[0].text == "2021-05-04", "Full MP3: TDRC")
expect([c.text for c in m.getall("COMM")] == [["An mp3 comment"]], "Full MP3: COMM")
expect([u.text for u in m.getall("USLT")] == ["First line of the mp3 lyrics\nSecond line"], "Full MP3: USLT")
expect(m["UFID:http://musicbrainz.org"].data == b"b2a9f5a0-1c1e-4c2a-9d3e-000000000001", "Full MP3: UFID")
for desc, value in [("MusicBrainz Album Id", "c3b0a6b1-2d2f-4d3b-8e4f-000000000002"),
                    ("MusicBrainz Artist Id", "d4c1b7c2-3e30-4e4c-9f50-000000000003"),
                    ("MusicBrainz Album Artist Id", "d4c1b7c2-3e30-4e4c-9f50-000000000003"),
                    ("REPLAYGAIN_TRACK_GAIN", "-6.20 dB"), ("REPLAYGAIN_TRACK_PEAK", "0.988556"),
                    ("REPLAYGAIN_ALBUM_GAIN", "-5.10 dB"), ("REPLAYGAIN_ALBUM_PEAK", "0.999969")]:
    expect(m.get("TXXX:" + desc) is not None and m["TXXX:" + desc].text == [value], f"Full MP3: TXXX:{desc}")
apic = m.getall("APIC")
expect(len(apic) == 1 and apic[0].type == 3 and apic[0].mime == "image/jpeg", "Full MP3: APIC")

tags, f = vorbis("Tag Master/Everything Tagged/02 - Full FLAC.flac")
for key, value in [("COMPOSER", "Clara Composer"), ("COMMENT", "A flac comment"),
                   ("LYRICS", "First line of the flac lyrics\nSecond line"),
                   ("MUSICBRAINZ_TRACKID", "b2a9f5a0-1c1e-4c2a-9d3e-000000000004"),
                   ("MUSICBRAINZ_ALBUMID", "c3b0a6b1-2d2f-4d3b-8e4f-000000000002"),
                   ("MUSICBRAINZ_ARTISTID", "d4c1b7c2-3e30-4e4c-9f50-000000000003"),
                   ("MUSICBRAINZ_ALBUMARTISTID", "d4c1b7c2-3e30-4e4c-9f50-000000000003"),
                   ("REPLAYGAIN_TRACK_GAIN", "-3.50 dB"), ("REPLAYGAIN_TRACK_PEAK", "0.750000"),
                   ("REPLAYGAIN_ALBUM_GAIN", "-5.10 dB"), ("REPLAYGAIN_ALBUM_PEAK", "0.999969"),
                   ("DATE", "2021-05-04"), ("DISCNUMBER", "1"), ("DISCTOTAL", "1")]:
    expect(tags.get(key) == [value], f"Full FLAC: {key}")
expect("DESCRIPTION" not in tags, "Full FLAC: stray DESCRIPTION")
expect([(p.type, p.mime) for p in f.pictures] == [(3, "image/png")], "Full FLAC: PICTURE")

tags, _ = vorbis("Björk Ø/Café Ünïcødé/01 - 日本語の歌.flac")
expect(tags.get("GENRE") == ["Rock", "Jazz"], "日本語の歌: two GENRE fields")
m = id3("Björk Ø/Café Ünïcødé/02 - Emoji 🎵 Song.mp3")
expect(m["TCON"].text == ["Rock;Pop"], "Emoji Song: TCON 'Rock;Pop'")

m = id3("Various Artists/Various Hits/01 - Alice Song.mp3")
expect(m.get("TCMP") is not None and m["TCMP"].text == ["1"], "Alice Song: TCMP")
tags, _ = vorbis("Various Artists/Various Hits/02 - Bob Song.flac")
expect(tags.get("COMPILATION") == ["1"], "Bob Song: COMPILATION")
expect(mutagen.File(os.path.join(music, "Various Artists/Various Hits/03 - Carol Song.m4a")).tags.get("cpil") is True,
       "Carol Song: cpil")
for rel in ["Orchestra Alpha/Double Feature/Disc 1/01 - Overture.mp3",
            "Orchestra Alpha/Double Feature/Disc 2/02 - Finale.mp3"]:
    expect(id3(rel)["TCOM"].text == ["Johann Example"], f"{rel}: TCOM")

# No mp3/aiff carries the TXXX frames ffmpeg would have written instead.
for dirpath, _, files in os.walk(music):
    for name in files:
        path = os.path.join(dirpath, name)
        if name.endswith((".mp3", ".aiff")) and os.path.getsize(path) > 100:
            try:
                t = mutagen.File(path)
            except Exception:
                continue
            if t is not None and t.tags is not None:
                bad = [k for k in t.tags.keys() if k in ("TXXX:TCMP", "TXXX:comment", "TXXX:USLT", "TXXX:lyrics")]
                expect(not bad, f"{name}: stray {bad}")
        if name.endswith(".flac") and os.path.getsize(path) > 100:
            try:
                padding = [b for b in mutagen.File(path).metadata_blocks if b.code == 1]
                expect(all(b.length == 0 for b in padding), f"{name}: FLAC padding left")
            except mutagen.MutagenError:
                pass

expect(mutagen.File(os.path.join(music, "untagged/Some Untagged Song.mp3")).tags is None,
       "untagged mp3 has a tag")
with open(os.path.join(music, "untagged/Some Untagged Song.mp3"), "rb") as fh:
    head = fh.read(3)
expect(head != b"ID3", "untagged mp3 starts with an ID3 header")

# The APE file decodes (with ffmpeg's decoder) to exactly the tone it was made from.
def pcm(args):
    return subprocess.run(["ffmpeg", "-nostdin", "-v", "error"] + args + ["-f", "s16le", "-"],
                          capture_output=True, check=True).stdout
ape = pcm(["-i", os.path.join(music, "The Testers/Format Parade/10 - Monkey Tone.ape")])
src = pcm(["-f", "lavfi", "-i", "sine=frequency=1047:duration=1:sample_rate=8000", "-ac", "1"])
expect(len(ape) == 16000 and ape == src, "Monkey Tone.ape does not decode to its source tone")

# ---- files that must be skipped -------------------------------------------
for rel in ["broken/empty.mp3", "broken/corrupt.flac", "broken/not-audio.mp3"]:
    dec = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", os.path.join(music, rel),
                          "-f", "null", "-"], capture_output=True, text=True)
    expect(dec.returncode != 0, f"{rel}: decodes, but should be invalid")
expect(os.path.getsize(os.path.join(music, "broken/empty.mp3")) == 0, "empty.mp3 not empty")

# ---- every file in music/ is accounted for -----------------------------------
listed = {r["path"] for r in rows}
other = set(re.findall(r"`([^`]+\.(?:mp3|flac|txt|jpg|png))`", readme.split("## Not songs")[1].split("##")[0]))
for dirpath, _, files in os.walk(music):
    for name in files:
        rel = os.path.relpath(os.path.join(dirpath, name), music)
        if rel not in listed and rel not in other:
            fail(f"{rel}: in music/ but not in README.md")

dump_probe.close()
dump_tags.close()
print(f"{len(rows)} songs checked, {len(failures)} problems")
sys.exit(1 if failures else 0)
PY
