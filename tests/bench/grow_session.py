#!/usr/bin/env python3
"""Grows a Claude Code request body into a long session of a given size.

usage: grow_session.py FIXTURE BYTES OUT [TURNS]

Between the fixture's first user turn and its last tool call, it adds tool calls and their
results (about 2 KiB a pair, the shape of a Claude Code session reading files and running
commands) until the body is BYTES long, within one pair. The fixture's own cache markers stay
where they are (Claude Code's three: two system blocks and the newest user turn); the added
turns carry none. Keys keep their order and the output is compact JSON, as Claude Code sends.

With TURNS, it writes that many bodies, OUT-1.json to OUT-TURNS.json, and prints their paths:
the session turn after turn, each body one tool call and result longer than the one before,
added where the next turn of the same session adds them (before the newest user turn, which
keeps Claude Code's moving marker). Each body then shares all but its last turns with the one
before, as each request of a real session does.
"""
import json
import random
import sys

WORDS = ("the request body of a long session holds every file read and command run so far "
         "def main return import class struct void const auto int for while if else").split()


def text(rng, size):
    out = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)


def pair(rng, index):
    tool_id = f"toolu_01Bench{index:08d}"
    call = {"role": "assistant", "content": [
        {"type": "text", "text": text(rng, 120)},
        {"type": "tool_use", "id": tool_id, "name": "Bash",
         "input": {"command": f"cat src/file_{index}.cpp", "description": "Read a file"}}]}
    result = {"role": "user", "content": [
        {"tool_use_id": tool_id, "type": "tool_result", "content": text(rng, 1800),
         "is_error": False}]}
    return [call, result]


def main():
    fixture, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(fixture, encoding="utf-8") as f:
        body = json.load(f)
    messages = body["messages"]
    head, tail = messages[:-2], messages[-2:]
    rng = random.Random(20261127)

    def encoded(added):
        body["messages"] = head + added + tail
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    added = []
    # About 2 KiB a pair: grow in steps, then settle within one pair of the target.
    while True:
        step = max(1, (size - len(encoded(added))) // 3000)
        if len(encoded(added)) >= size:
            break
        for _ in range(step):
            added += pair(rng, len(added) // 2)
    if len(sys.argv) < 5:
        data = encoded(added)
        with open(out, "wb") as f:
            f.write(data)
        print(f"{out}: {len(data)} bytes, {len(body['messages'])} messages", file=sys.stderr)
        return
    turns = int(sys.argv[4])
    base = out[:-5] if out.endswith(".json") else out
    for turn in range(1, turns + 1):
        if turn > 1:
            added += pair(rng, len(added) // 2)
        path = f"{base}-{turn}.json"
        data = encoded(added)
        with open(path, "wb") as f:
            f.write(data)
        print(path)
    print(f"{base}-*.json: {turns} bodies up to {len(data)} bytes, "
          f"{len(body['messages'])} messages", file=sys.stderr)


if __name__ == "__main__":
    main()
