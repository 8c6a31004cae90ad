#!/usr/bin/env bash
# Rebuilds tests/library/video/: a few tiny real videos (one per container the scanner
# reads) for the video tests, kept apart from music/ so the music counts do not move.
# Needs ffmpeg (Debian 12: 5.1 with libx264, libvpx, libmp3lame, libvorbis).
# Every file and folder is timestamped 2024-01-01 00:00:00 UTC like music/.
set -euo pipefail
cd "$(dirname "$0")"
out=video
rm -rf "$out"
mkdir -p "$out/Shorts"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
exact=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1 -threads 1)

# MP4: H.264 + AAC, 320x240, 2 s, with a poster beside it ("<name>.jpg").
ff -f lavfi -i "testsrc=duration=2:size=320x240:rate=10" -f lavfi -i "sine=frequency=440:duration=2:sample_rate=22050" \
   -c:v libx264 -preset veryfast -crf 40 -pix_fmt yuv420p -c:a aac -b:a 24k -ac 1 "${exact[@]}" "$out/Test Pattern.mp4"
ff -f lavfi -i "testsrc=size=64x48" -frames:v 1 "${exact[@]}" "$out/Test Pattern.jpg"

# Matroska: MPEG-4 part 2 + MP3, 176x144, 1 s, with a cover attachment (cover.jpg,
# a blue 48x36 JPEG: how Matroska files carry their poster).
ff -f lavfi -i "color=c=blue:size=48x36" -frames:v 1 "${exact[@]}" /tmp/tonearm-cover.jpg
ff -f lavfi -i "smptebars=duration=1:size=176x144:rate=10" -f lavfi -i "sine=frequency=330:duration=1:sample_rate=22050" \
   -c:v mpeg4 -q:v 20 -c:a libmp3lame -b:a 32k -ac 1 \
   -attach /tmp/tonearm-cover.jpg -metadata:s:t:0 mimetype=image/jpeg -metadata:s:t:0 filename=cover.jpg \
   "${exact[@]}" "$out/Colour Bars.mkv"
rm -f /tmp/tonearm-cover.jpg

# WebM: VP8 + Vorbis, 160x120, 1 s, in a subfolder.
ff -f lavfi -i "testsrc2=duration=1:size=160x120:rate=10" -f lavfi -i "sine=frequency=550:duration=1:sample_rate=22050" \
   -c:v libvpx -b:v 60k -c:a libvorbis -q:a 0 -ac 1 "${exact[@]}" "$out/Shorts/Moving Shapes.webm"

# MP4 video (.m4v): H.264 + AAC, 240x180, 1 s, with an embedded cover (`covr`).
ff -f lavfi -i "rgbtestsrc=duration=1:size=240x180:rate=10" -f lavfi -i "sine=frequency=660:duration=1:sample_rate=22050" \
   -c:v libx264 -preset veryfast -crf 40 -pix_fmt yuv420p -c:a aac -b:a 24k -ac 1 "${exact[@]}" /tmp/tonearm-cover-src.mp4
ff -f lavfi -i "color=c=red:size=32x32" -frames:v 1 /tmp/tonearm-cover.png
ff -i /tmp/tonearm-cover-src.mp4 -i /tmp/tonearm-cover.png -map 0 -map 1 -c copy -disposition:v:1 attached_pic \
   "${exact[@]}" "$out/Shorts/Colour Test.m4v"
rm -f /tmp/tonearm-cover-src.mp4 /tmp/tonearm-cover.png

# QuickTime: H.264 without sound, 192x108, 1 s.
ff -f lavfi -i "testsrc=duration=1:size=192x108:rate=10" \
   -c:v libx264 -preset veryfast -crf 40 -pix_fmt yuv420p "${exact[@]}" "$out/Shorts/Silent Clock.mov"

# AVI: MPEG-4 part 2 + MP3, 128x96, 1 s (no container crate reads AVI: ffprobe does).
ff -f lavfi -i "testsrc=duration=1:size=128x96:rate=10" -f lavfi -i "sine=frequency=770:duration=1:sample_rate=22050" \
   -c:v mpeg4 -q:v 20 -c:a libmp3lame -b:a 32k -ac 1 "${exact[@]}" "$out/Old Format.avi"

find "$out" -exec touch -h -d "2024-01-01 00:00:00 UTC" {} +
ls -l "$out" "$out/Shorts"
