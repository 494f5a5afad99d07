-- wrk script of chapter 06's benchmark (bench/06-web-service/run.sh): what each request asks for, and one line of
-- results at the end. Settings come from the environment, since wrk passes its own command line to the script:
--   WS_MODE   hit: every request is the URL given to wrk (the hot key);
--             miss: GET /items/ID, each request of the run a key of its own, so a cache sees every key once: all
--                   misses, unless the run asks for more than WS_KEYS keys;
--             put:  PUT /items/ID with a body of WS_BODY bytes, the keys chosen the same way.
--   WS_LO WS_KEYS   the keys are WS_LO .. WS_LO + WS_KEYS - 1; WS_FIRST (0 to WS_KEYS - 1) is where a run starts in
--                   them, and the ids wrap around within them
--   WS_BODY         the PUT body's size in bytes
-- With several wrk threads, each takes its own residue class of the keys, so no two requests share a key.
-- The last line printed: RUN req_per_s=... p50_us=... p99_us=... requests=... errors=... non2xx=...

local mode = os.getenv("WS_MODE") or "hit"
local lo = tonumber(os.getenv("WS_LO") or "1")
local first = tonumber(os.getenv("WS_FIRST") or "0")
local keys = tonumber(os.getenv("WS_KEYS") or "100000")
local body = string.rep("y", tonumber(os.getenv("WS_BODY") or "128"))

local threads = 0
function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end

function init(args)
    nthreads = tonumber(os.getenv("WS_THREADS") or "1")
    sent = 0
end

if mode ~= "hit" then
    function request()
        local id = lo + (first + sent * nthreads + tid) % keys
        sent = sent + 1
        if mode == "put" then
            return wrk.format("PUT", "/items/" .. id, { ["Content-Type"] = "application/octet-stream" }, body)
        end
        return wrk.format("GET", "/items/" .. id)
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RUN req_per_s=%.0f p50_us=%d p99_us=%d requests=%d errors=%d non2xx=%d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
        summary.requests, e.connect + e.read + e.write + e.timeout, e.status))
end
