"""Helpers shared by the project's check scripts (each script runs as its own process, so the
module-level tallies are that script's)."""

failures = []
passed = [0]


def check(cond, what):
    """Prints one ok/FAIL line and tallies it."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    passed[0] += bool(cond)
    if not cond:
        failures.append(what)


def slope(points):
    """Least-squares slope of (x, y) points."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
