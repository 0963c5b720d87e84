#!/usr/bin/env python3
"""Prints one plain line, "N passed, N failed[, N skipped]", over a meson test log.

    scripts/test-summary.py BUILD_DIR/meson-logs/testlog.json
"""
import json
import sys

passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("result") in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r.get("result") == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
