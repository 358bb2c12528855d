#!/usr/bin/env python3
"""How long `converge sandbox --port 0` takes from spawn until it answers
/_sandbox/health. Prints the median and worst of 20 starts (docs/performance.md)."""
import pathlib, statistics, subprocess, sys, time, urllib.request

binary = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/debug/converge")
samples = []
for _ in range(20):
    started = time.perf_counter()
    process = subprocess.Popen([str(binary), "sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True)
    url = "http://" + process.stdout.readline().split("http://")[1].split()[0]
    urllib.request.urlopen(url + "/_sandbox/health").read()
    samples.append(time.perf_counter() - started)
    process.kill()
    process.wait()
print(f"converge sandbox answers after: median {statistics.median(samples)*1000:.1f} ms, worst {max(samples)*1000:.1f} ms (20 starts, {binary})")
