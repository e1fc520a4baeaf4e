#!/usr/bin/env python3
"""Shrinks a rejected change written by the simulation's SIM_DUMP to the few operations (and
the small document) that still get it rejected with the same code.

    SIM_SEED=n SIM_DUMP=/tmp/case.json cargo test -p sync-core --release --test simulation
    scripts/shrink-rejection.py /tmp/case.json /tmp/small.json

It drops operations from the log and from the change, then members and items of the document,
keeping each step only if the change is still valid on its own base, the log still applies and
the rejection keeps its code (see sync-core/tests/replay.rs for the exit codes).
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile


def replay_binary():
    out = subprocess.run(
        ["cargo", "test", "-p", "sync-core", "--release", "--test", "replay", "--no-run"],
        capture_output=True, text=True, check=True,
    ).stderr
    return re.search(r"Executable .*\((.*)\)", out).group(1)


def main(source, target):
    binary = replay_binary()
    scratch = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name

    def code_of(case):
        with open(scratch, "w") as f:
            json.dump(case, f)
        run = subprocess.run(
            [binary, "--ignored", "--exact", "replay", "--nocapture"],
            env=dict(os.environ, SIM_REPLAY=scratch), capture_output=True, text=True,
        )
        if run.returncode != 0:
            return None
        found = re.search(r'code: "(\w+)"', run.stderr)
        return found.group(1) if found else None

    def renumber(case):
        case["log"] = [c for c in case["log"] if c["ops"]]
        for i, commit in enumerate(case["log"]):
            commit["rev"] = case["base"] + 1 + i
            commit["conflicts"] = []
        return case

    def places(value, at=()):
        yield at
        if isinstance(value, dict):
            for key in list(value):
                yield from places(value[key], at + (key,))
        elif isinstance(value, list):
            for i in range(len(value)):
                yield from places(value[i], at + (i,))

    def parent_of(doc, at):
        for token in at[:-1]:
            doc = doc[token]
        return doc

    case = json.load(open(source))
    want = code_of(case)
    if want is None:
        sys.exit(f"{source}: the change is not rejected")
    candidate = renumber(copy.deepcopy(case))
    if code_of(candidate) == want:
        case = candidate
    shrunk = True
    while shrunk:
        shrunk = False
        for c in range(len(case["log"]) - 1, -1, -1):
            for o in range(len(case["log"][c]["ops"]) - 1, -1, -1):
                candidate = copy.deepcopy(case)
                del candidate["log"][c]["ops"][o]
                candidate = renumber(candidate)
                if code_of(candidate) == want:
                    case, shrunk = candidate, True
                    break
        for o in range(len(case["ops"]) - 1, 0, -1):
            candidate = copy.deepcopy(case)
            del candidate["ops"][o]
            if code_of(candidate) == want:
                case, shrunk = candidate, True
        for at in sorted(places(case["snapshot"]), key=len):
            if not at:
                continue
            candidate = copy.deepcopy(case)
            del parent_of(candidate["snapshot"], at)[at[-1]]
            if code_of(candidate) == want:
                case, shrunk = candidate, True
                break
    os.unlink(scratch)
    with open(target, "w") as f:
        json.dump(case, f)
    print(f"rejected {want}:")
    print("document", json.dumps(case["snapshot"]))
    for commit in case["log"]:
        print("log", commit["rev"], json.dumps(commit["ops"]))
    print("change", json.dumps(case["ops"]))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
