"""Fail when a JUnit report is missing or shows no executed test (all skipped counts as none)."""

import sys
import xml.etree.ElementTree as ET


def executed(path: str) -> tuple[int, int, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    return tests - skipped, skipped, bad


def main(paths: list[str]) -> int:
    status = 0
    for path in paths:
        try:
            ran, skipped, bad = executed(path)
        except (OSError, ET.ParseError) as exc:
            print(f"check-junit: {path}: unreadable ({exc})")
            status = 1
            continue
        print(f"check-junit: {path}: {ran} executed, {skipped} skipped, {bad} failed")
        if ran == 0 or bad:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
