"""Small helpers for the benchmarks: percentiles and a fixed-width report."""

import statistics
import time


def percentile(samples, p):
    ordered = sorted(samples)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(title, rows):
    print(f"\n{title}")
    print(f"{'what':<44}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, samples in rows:
        print(
            f"{name:<44}{len(samples):>6}{percentile(samples, 50):>10.2f}{percentile(samples, 95):>10.2f}"
            f"{statistics.fmean(samples):>10.2f}"
        )
