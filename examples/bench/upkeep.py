#!/usr/bin/env python3
"""Catalog upkeep figures at a generated library's size (docs/benchmarks.md,
"Catalog upkeep"): full scan peak RSS (`tonearm scan`, and the server's own start-up
scan), a no-change rescan, how soon the watcher shows an added and a changed file
through the API, and clean_catalog after deleting 10,000 files.

    python3 examples/bench/upkeep.py --tonearm target/release/tonearm --dir DIR

DIR/music must hold a library the benchmark generated (`bench --dir DIR --keep`);
it is changed (files added, replaced and deleted), so use a copy: replaced files
are written as new files and renamed over the old ones, so a hard-linked copy
(`cp -al`) leaves the original intact. DIR/data is recreated. Python 3 stdlib only.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import hashlib
import threading

PASSWORD = "bench password"


def timed(cmd, env):
    """Runs cmd under GNU time; (wall seconds, peak RSS MiB)."""
    started = time.monotonic()
    out = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"{cmd} failed: {out.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return wall, rss / 1024


class Server:
    def __init__(self, tonearm, data, env, args):
        self.proc = subprocess.Popen(
            [tonearm, "serve", "--listen", "127.0.0.1:0", "--data", data] + args,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stdout:
            if line.startswith("tonearm listening on "):
                self.base = line.split()[-1]
                break
        self.token = None
        # The log is read on a thread, so the server never blocks on a full pipe.
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stderr), daemon=True).start()

    def call(self, **params):
        if self.token:
            params["auth"] = self.token
        url = f"{self.base}/server/json.server.php?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=60) as r:
            return json.loads(r.read())

    def login(self):
        ts = str(int(time.time()))
        key = hashlib.sha256(PASSWORD.encode()).hexdigest()
        auth = hashlib.sha256((ts + key).encode()).hexdigest()
        self.token = self.call(action="handshake", user="admin", timestamp=ts, auth=auth)["auth"]

    def wait_log(self, needle, timeout=120):
        poll(lambda: any(needle in line for line in list(self.lines)), timeout)

    def peak_rss(self):
        status = open(f"/proc/{self.proc.pid}/status").read()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def poll(check, timeout=60):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.02)
    sys.exit("timed out")


def replace(path, source):
    """Gives `path` the bytes of `source` as a new file renamed over it."""
    temp = path + ".tmp-bench"
    shutil.copyfile(source, temp)
    os.rename(temp, path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tonearm", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--database", help="postgres:// URL (default SQLite in DIR/data)")
    a = p.parse_args()
    music = os.path.join(a.dir, "music")
    data = os.path.join(a.dir, "data")
    env = dict(os.environ, TONEARM_ADMIN_PASSWORD=PASSWORD, RUST_LOG="info,sqlx=warn")
    db = ["--database", a.database] if a.database else []
    run = lambda *args: subprocess.run([a.tonearm, *args, "--data", data, *db], env=env, check=True, capture_output=True)
    def reset():
        shutil.rmtree(data, ignore_errors=True)
        os.makedirs(data)
        if a.database:
            subprocess.run(["psql", a.database, "-qc", "DROP SCHEMA public CASCADE; CREATE SCHEMA public"], check=True)

    files = sum(len(f) for _, _, f in os.walk(music))
    print(f"library: {files} files")
    # The server's own start-up scan of the whole library: its peak RSS.
    reset()
    run("catalog", "add", music)
    s = Server(a.tonearm, data, env, ["--no-watch", *db])
    started = time.monotonic()
    s.login()
    def scanned():
        c = s.call(action="catalog", filter=1)[0]
        return c["last_task"] == "rescan"
    took = poll(scanned, timeout=900)
    print(f"server start-up scan: {took:.1f} s, server peak RSS (VmHWM) {s.peak_rss():.1f} MiB")
    s.stop()

    reset()
    run("catalog", "add", music)

    wall, rss = timed([a.tonearm, "scan", "--data", data, *db], env)
    print(f"full scan (tonearm scan): {wall:.1f} s, peak RSS {rss:.1f} MiB")
    wall, rss = timed([a.tonearm, "scan", "--data", data, *db], env)
    print(f"rescan, nothing changed (tonearm scan): {wall:.2f} s, peak RSS {rss:.1f} MiB")

    # The watcher: an added file and a changed one, seen through the API.
    s = Server(a.tonearm, data, env, ["--no-scan", "--watch", *db])
    s.login()
    started = time.monotonic()
    s.wait_log("watching for changes")
    print(f"watches set up in {time.monotonic() - started:.2f} s; server peak RSS so far {s.peak_rss():.1f} MiB")
    songs = s.call(action="ping")["songs"]
    albums = sorted(d for d in os.listdir(music) if os.path.isdir(os.path.join(music, d)))
    first_album_dir = os.path.join(music, albums[0])
    album = os.path.join(first_album_dir, sorted(os.listdir(first_album_dir))[0])
    track = os.path.join(album, sorted(os.listdir(album))[0])
    os.makedirs(os.path.join(music, "zz-new"), exist_ok=True)
    new_file = os.path.join(music, "zz-new", "added" + os.path.splitext(track)[1])
    started = time.monotonic()
    shutil.copyfile(track, new_file)
    took = poll(lambda: s.call(action="ping")["songs"] == songs + 1)
    print(f"watcher: an added file shows in ping after {took:.2f} s")
    # Changed: a song's file gets the bytes of another of its album (another title).
    song = s.call(action="songs", limit=1)[0]
    target = song["filename"]
    title = song["title"]
    folder = os.path.dirname(target)
    other = next(os.path.join(folder, f) for f in sorted(os.listdir(folder)) if os.path.join(folder, f) != target)
    replace(target, other)
    took = poll(lambda: s.call(action="song", filter=song["id"])[0]["title"] != title)
    print(f"watcher: a changed file shows in song after {took:.2f} s")
    print(f"server peak RSS (VmHWM) {s.peak_rss():.1f} MiB")
    s.stop()

    # clean_catalog after deleting 10,000 files (no watcher: the clean finds them).
    s = Server(a.tonearm, data, env, ["--no-scan", *db])
    s.login()
    deleted = 0
    for artist in albums:
        for name in sorted(os.listdir(os.path.join(music, artist))):
            folder = os.path.join(music, artist, name)
            for f in os.listdir(folder):
                if deleted < 10000:
                    os.remove(os.path.join(folder, f))
                    deleted += 1
    before = s.call(action="ping")["songs"]
    started = time.monotonic()
    s.call(action="catalog_action", task="clean_catalog", catalog=1)
    def cleaned():
        c = s.call(action="catalog", filter=1)[0]
        return c["last_task"] == "clean_catalog" and c["scan_task"] == ""
    took = poll(cleaned, timeout=300)
    after = s.call(action="ping")["songs"]
    print(f"clean_catalog after deleting {deleted} files: {took:.2f} s ({before} -> {after} songs)")
    print(f"  {s.call(action='catalog', filter=1)[0]['last_result']}")
    s.stop()


if __name__ == "__main__":
    main()
