-- wrk script of chapter 08's benchmark (bench/08-proxy/run.sh): every request is a plain GET of the URL given to wrk;
-- at the end, one line with what the script reads:
--   RUN req_per_s=... p50_us=... p99_us=... requests=... connect=... read=... write=... timeout=... non2xx=...
-- requests counts the answers received (whatever their status); connect, read, write and timeout are wrk's socket
-- errors (a connection refused, reset or closed under a request, a request with no answer within --timeout);
-- non2xx the answers whose status was not 2xx or 3xx.

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RUN req_per_s=%.0f p50_us=%d p99_us=%d requests=%d connect=%d read=%d write=%d timeout=%d non2xx=%d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
        summary.requests, e.connect, e.read, e.write, e.timeout, e.status))
end
