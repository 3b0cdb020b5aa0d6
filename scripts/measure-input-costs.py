#!/usr/bin/env python3
"""What outside input costs a node, measured: the peak RSS (VmHWM) of a real demo node after
one hostile-but-valid input of each kind. Not a test (no bound asserted); the figures in
docs/operations.md ("What outside input can make a node do") come from this script.

  python3 scripts/measure-input-costs.py --demo .build/release/keyviz-demo

Cases (sizes are the defaults below):
  peer        one peer answer within every cap: 1 024 rows x 15 000 columns of zeros (~30 MiB,
              15.4 M numbers, the most numbers per byte a matrix answer can hold)
  prometheus  one query_range answer of 1 000 series x 4 000 samples (~41 MiB)
  state       a state file of 20 000 routes and 20 000 one-second columns of 100 entries (~16 MiB)
              restored into the default tiers (an hour of 1 s columns)
Every server is on 127.0.0.1; each node runs at most 60 s and is killed at the end.
"""
import argparse, http.server, importlib.util, os, random, struct, subprocess, tempfile, threading, time, urllib.request, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("cluster_test", os.path.join(HERE, "cluster-test.py"))
cluster_test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cluster_test)
spec = importlib.util.spec_from_file_location("hostile", os.path.join(HERE, "check-hostile-inputs.py"))
hostile = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hostile)
free_port, varint = cluster_test.free_port, hostile.varint


def peer_body(rows=1024, columns=15000):
    stamps = ",".join(str(1_800_000_000_000 + i * 1000) for i in range(columns))
    zeros = ",".join(["0"] * columns)
    rows_json = ",".join('{"row_id":"r%d","start":"","end":"","route_count":1,"values":[%s]}' % (i, zeros) for i in range(rows))
    return ('{"series":"writes","step_ms":1000,"column_unix_ms":[%s],"unrouted":[%s],"rows":[%s]}' % (stamps, zeros, rows_json)).encode()


def prometheus_body(series=1000, samples=4000):
    values = ",".join('[%d,"1"]' % (100 + i) for i in range(samples))
    result = ",".join('{"metric":{"bucket":"b%d"},"values":[%s]}' % (j, values) for j in range(series))
    return ('{"status":"success","data":{"resultType":"matrix","result":[%s]}}' % result).encode()


def state_file(routes=20000, columns=20000, entries=100):
    p = bytearray(varint(routes))
    for i in range(routes):
        start, end = b"k%08d" % i, b"k%08d" % (i + 1)
        p += varint(i + 1) + varint(0) + varint(len(start)) + start + varint(len(end)) + end
    p += varint(1) + varint(1000 << 1) + varint(columns)
    rnd = random.Random(1)
    for c in range(columns):
        p += varint((1_800_000_000_000 + c * 1000) << 1) + varint(0) * 4 + varint(entries)
        for _ in range(entries):
            p += varint(rnd.randrange(routes)) + varint(3) + varint(5) + varint(300) + varint(900)
    p += b"\x00"
    return b"KVZHIST1" + struct.pack("<IQI", 1, len(p), zlib.crc32(p)) + bytes(p)


def serve(body):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(demo, extra, request):
    port = free_port()
    node = subprocess.Popen([demo, "--listen", f"127.0.0.1:{port}", "--duration", "60", "--status-every", "100"] + extra,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        if request:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{request}", timeout=60).read()
        status = open(f"/proc/{node.pid}/status").read().splitlines()
        return {l.split(":")[0]: int(l.split()[1]) // 1024 for l in status if l.startswith(("VmHWM", "VmRSS"))}
    finally:
        node.kill()
        node.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", required=True)
    args = ap.parse_args()
    idle = run(args.demo, [], None)
    print(f"idle node: peak {idle['VmHWM']} MiB")
    body = peer_body()
    server = serve(body)
    r = run(args.demo, ["--peers", f"127.0.0.1:{server.server_address[1]}", "--peer-max-body", str(32 << 20), "--peer-timeout", "20"],
            "/api/v1/keyviz/matrix?scope=cluster")
    print(f"peer answer of {len(body) / 2**20:.1f} MiB: peak {r['VmHWM']} MiB")
    server.shutdown()
    body = prometheus_body()
    server = serve(body)
    r = run(args.demo, ["--prometheus-url", f"http://127.0.0.1:{server.server_address[1]}", "--prometheus-selector", '{job="keyviz"}'],
            "/api/v1/keyviz/matrix?scope=prometheus&from_unix_ms=85000&to_unix_ms=4100000")
    print(f"Prometheus answer of {len(body) / 2**20:.1f} MiB: peak {r['VmHWM']} MiB")
    server.shutdown()
    with tempfile.TemporaryDirectory() as d:
        data = state_file()
        open(os.path.join(d, "matrix.state"), "wb").write(data)
        r = run(args.demo, ["--state-dir", d], None)
        print(f"state file of {len(data) / 2**20:.1f} MiB: peak {r['VmHWM']} MiB, {r['VmRSS']} MiB resident after the load")


if __name__ == "__main__":
    main()
