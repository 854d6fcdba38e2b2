#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs from the IdP request corpus (tests/idp/*.json).

Each seed is named seed-<sha1 of its bytes>, as libFuzzer names its own finds, so running
this again adds nothing that is already there:

- filter:    every `filter` query parameter and every PATCH operation's `path`;
- patch:     every PATCH body;
- scim_body: one byte for the request (0 user POST/PUT, 1 group POST/PUT, 2 user PATCH,
             3 group PATCH; see scimdesk::fuzzing::scim_body) then the body: every POST,
             PUT and PATCH body, and every `initial` resource as a create body.

Usage: scripts/fuzz-seeds.py   (from anywhere; writes fuzz/corpus/<target>/)
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
IDP = ROOT / "tests" / "idp"
CORPUS = ROOT / "fuzz" / "corpus"


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def main():
    seeds = {"filter": set(), "patch": set(), "scim_body": set()}
    cases = sorted(IDP.glob("*.json"))
    for path in cases:
        case = json.loads(path.read_text())
        group = case.get("resource_type") == "Group"
        request = case.get("request", {})
        method = request.get("method", "GET").upper()
        body = request.get("body")
        query = request.get("query") or {}
        if isinstance(query.get("filter"), str):
            seeds["filter"].add(query["filter"].encode())
        if body is not None and method == "PATCH":
            seeds["patch"].add(compact(body))
            seeds["scim_body"].add(bytes([3 if group else 2]) + compact(body))
            for op in body.get("Operations") or body.get("operations") or []:
                if isinstance(op, dict) and isinstance(op.get("path"), str):
                    seeds["filter"].add(op["path"].encode())
        elif body is not None and method in ("POST", "PUT"):
            seeds["scim_body"].add(bytes([1 if group else 0]) + compact(body))
        initial = case.get("initial")
        for resource in initial if isinstance(initial, list) else [initial] if initial else []:
            seeds["scim_body"].add(bytes([1 if group else 0]) + compact(resource))
    for target, items in seeds.items():
        out = CORPUS / target
        out.mkdir(parents=True, exist_ok=True)
        added = 0
        for data in sorted(items):
            f = out / ("seed-" + hashlib.sha1(data).hexdigest())
            if not f.exists():
                f.write_bytes(data)
                added += 1
        print(f"{target}: {len(items)} seeds from {len(cases)} IdP cases ({added} new)")


if __name__ == "__main__":
    main()
