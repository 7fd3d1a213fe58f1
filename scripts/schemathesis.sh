#!/usr/bin/env bash
# Schemathesis against the real collector: the test profile's `ldp-aggregator` on an ephemeral
# port with a fresh SQLite database, tested through the /openapi.json it serves, with every
# check enabled (`--checks all`) and every warning failing the run.
#
# What runs:
#   - schemathesis, the version pinned below, from PyPI into target/schemathesis-venv (made
#     once, and again when the pin changes);
#   - the collector, with an admin and an analyst token and two campaigns holding reports: a
#     GRR campaign `demo` (2-second epochs, a batch in each of two epochs) and an open-domain
#     RAPPOR campaign `words`, so that estimates, trending and candidate queries are answered
#     200 and those answers are checked against the document as well as the refusals;
#   - every operation through schemathesis' four phases (examples, coverage, fuzzing,
#     stateful), at most 200 generated cases per operation and phase (LDP_SCHEMATHESIS_EXAMPLES),
#     with a fixed seed (LDP_SCHEMATHESIS_SEED) and nothing carried over between runs: the
#     same requests every run.
# How long: about 55 s on two cores, the first run about 15 s more for the install; a hang
# guard stops it after ten minutes. It fails on any failure, error or warning schemathesis
# reports; the few narrow exceptions are in the configuration below, each with its reason.
#
# The JUnit report and the collector's log land in target/schemathesis; a failure prints a
# `curl` line that reproduces it. LDP_AGGREGATOR=path uses that binary instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${LDP_SCHEMATHESIS_EXAMPLES:-200}
SEED=${LDP_SCHEMATHESIS_SEED:-20240607}

venv=$PWD/target/schemathesis-venv
installed=$("$venv/bin/schemathesis" --version 2>/dev/null || true)
if [ "$installed" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "-- schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -n "${LDP_AGGREGATOR:-}" ]; then
  binary=$LDP_AGGREGATOR
else
  echo "-- the collector"
  cargo build --quiet --profile test -p ldp-aggregator --bin ldp-aggregator
  binary=$PWD/target/debug/ldp-aggregator
fi

out=$PWD/target/schemathesis
rm -rf "$out"
mkdir -p "$out"
home=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$home"
}
trap cleanup EXIT

export LDP_LOG=warn
database="sqlite://$home/ldp.db"
admin=$("$binary" token create --role admin --database "$database")
analyst=$("$binary" token create --role analyst --database "$database")
"$binary" serve --listen 127.0.0.1:0 --address-file "$home/address" --database "$database" \
  2>"$out/server.log" &
server=$!
# A hang guard, not a speed check.
for _ in $(seq 600); do
  [ -s "$home/address" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$out/server.log"; exit 1; }
  sleep 0.1
done
[ -s "$home/address" ] || { echo "the collector did not start" >&2; exit 1; }
url="http://$(cat "$home/address")"
echo "-- collector at $url"

# The campaigns, and batches of reports written by hand from docs/wire-format.md (bincode,
# little-endian, fixed-width integers; sections 2 and 3 and the RAPPOR section), so that the
# estimates, the trending question and the candidate query are answered 200 and their
# responses are checked against the document too. `demo` has 2-second epochs and a batch in
# each of the two epochs before the current one: whatever the clock says during the run, its
# default trending epoch is the later one, with the other in its baseline.
LDP_URL=$url LDP_ADMIN=$admin "$venv/bin/python" - <<'EOF'
import json, os, random, struct, urllib.request

url, admin = os.environ["LDP_URL"], os.environ["LDP_ADMIN"]
rng = random.Random(1)

def call(method, path, body, content_type, token=None):
    request = urllib.request.Request(url + path, data=body, method=method)
    request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read())

def campaign(spec):
    body = json.dumps(spec).encode()
    status, view = call("POST", "/v1/campaigns", body, "application/json", admin)
    assert status == 201, (status, view)
    return view

def upload(view, epoch, reports):
    campaign_id = view["id"].encode()
    batch = struct.pack("<HQ", 1, len(campaign_id)) + campaign_id
    batch += struct.pack("<QQ", int(view["digest"], 16), epoch)
    batch += rng.randbytes(16) + struct.pack("<Q", len(reports)) + b"".join(reports)
    path = f"/v1/campaigns/{view['id']}/reports"
    status, answer = call("POST", path, batch, "application/x-ldp-batch")
    assert status == 202 and answer["status"] == "counted", (status, answer)

demo = campaign({"id": "demo", "mechanism": "grr", "epsilon": 1.0,
                 "domain": {"range": {"k": 8}}, "epoch_seconds": 2, "min_reports": 10})
for epoch in (demo["current_epoch"] - 2, demo["current_epoch"] - 1):
    # GRR: tag 0, then the value (below k).
    upload(demo, epoch, [struct.pack("<II", 0, rng.randrange(8)) for _ in range(50)])

words = campaign({"id": "words", "epsilon": 2.0, "domain": "open", "min_reports": 10,
                  "mechanism": {"rappor": {"bloom_bits": 128, "hashes": 2, "cohorts": 64,
                                           "epsilon_permanent": 4, "p": 0.25, "q": 0.75}}})
# RAPPOR: tag 7, the cohort (below 64), then 2 words of 128 random bits.
upload(words, words["current_epoch"],
       [struct.pack("<IIQQQ", 7, rng.randrange(64), 2, rng.getrandbits(64), rng.getrandbits(64))
        for _ in range(50)])
EOF

# The batch body is bytes: sent as they are generated, like application/octet-stream.
cat >"$home/hooks.py" <<'EOF'
import schemathesis

schemathesis.serializer.alias("application/x-ldp-batch", "application/octet-stream")
EOF

# The configuration; schemathesis fills in ${LDP_*} from the environment. The exceptions below
# only widen, for one operation each, what positive_data_acceptance takes as the answer to a
# request that fits the schema, and only by statuses the document lists for that operation;
# every other check runs on every operation unchanged.
cat >"$home/schemathesis.toml" <<'EOF'
hooks = "${LDP_SCHEMATHESIS_HOOKS}"
headers = { Authorization = "Bearer ${LDP_ADMIN_TOKEN}" }
# A warning fails the run too: one is how a misconfiguration shows (a token refused
# everywhere, say), which would otherwise pass with nothing tested.
warnings = { fail-on = true }

[generation]
# The same inputs every run: no examples carried over from earlier runs…
database = "none"

# …and no crashes replayed from them (the cache lives, and dies, with the run's reports).
[cache]
directory = "${LDP_SCHEMATHESIS_CACHE}"

# The analyst questions, with the analyst token (an admin token may ask them too). 400: the
# epoch parameters have rules between them that separate query parameters cannot state in a
# schema (epoch or from/to, not both; from <= to, a missing end being the first or last epoch
# with reports); the operation's 400 says so.
[[operations]]
include-name = "GET /v1/campaigns/{id}/estimates"
headers = { Authorization = "Bearer ${LDP_ANALYST_TOKEN}" }
parameters = { "path.id" = "demo" }
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx",
]

# The same epoch rules; on the open-domain campaign, so that candidate lists are checked
# rather than refused for the mechanism.
[[operations]]
include-name = "POST /v1/campaigns/{id}/estimates/query"
headers = { Authorization = "Bearer ${LDP_ANALYST_TOKEN}" }
parameters = { "path.id" = "words" }
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx",
]

# 400: the latest epoch needs baseline epochs before it (epoch >= baseline), a rule between
# two parameters; the operation's 400 says so.
[[operations]]
include-name = "GET /v1/campaigns/{id}/trending"
headers = { Authorization = "Bearer ${LDP_ANALYST_TOKEN}" }
parameters = { "path.id" = "demo" }
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx",
]

# The values must be labels of the campaign's domain (a list the campaign holds, not the
# schema): fixed to two of demo's, so the epoch parameters are what varies. 400: a range may
# cover at most 366 epochs and needs from <= to, rules between two parameters.
[[operations]]
include-name = "GET /v1/campaigns/{id}/series"
headers = { Authorization = "Bearer ${LDP_ANALYST_TOKEN}" }
parameters = { "path.id" = "demo", "query.values" = "1,3" }
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx",
]

# 400: whether a configuration is valid depends on its mechanism (which epsilon, which
# domains, which parameters), rules the document states in words, not in the schema (the
# body is an object). Its example is a valid configuration: created (201) in the examples
# phase.
[[operations]]
include-name = "POST /v1/campaigns"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx",
]

# Deletion on a campaign that exists (a generated id would only ever be 404, which warns),
# with a generated `confirm`: 409 unless it repeats the id, and that a random string does not.
[[operations]]
include-name = "DELETE /v1/campaigns/{id}"
parameters = { "path.id" = "demo" }

# 400 and 422: a batch is bincode bytes (docs/wire-format.md) with the campaign's digest, an
# epoch in the accepted window and reports the campaign's mechanism can make; generated bytes
# are none of that. The batch uploaded above is the accepted case.
# For the same reason, generated bodies being refused is no warning here (validation_mismatch;
# this version of schemathesis shows it whenever it shows missing_test_data, so that one goes
# too: the id is fixed to a campaign that exists anyway). Every other warning stays.
[[operations]]
include-name = "POST /v1/campaigns/{id}/reports"
parameters = { "path.id" = "demo" }
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx",
]
warnings = [
  "missing_auth", "base_url_mismatch", "missing_deserializer", "unused_openapi_auth",
  "unsupported_regex", "method_not_allowed", "constants_extraction", "unmatched_filter",
  "unresolvable_reference", "rate_limited", "dictionary_mismatch", "timeout_units",
]
EOF

echo "-- schemathesis $SCHEMATHESIS_VERSION: $MAX_EXAMPLES examples per operation, seed $SEED"
export LDP_SCHEMATHESIS_HOOKS=$home/hooks.py LDP_SCHEMATHESIS_CACHE=$out/cache
export LDP_ADMIN_TOKEN=$admin LDP_ANALYST_TOKEN=$analyst
set +e
# From the reports' directory, where Hypothesis leaves its own files.
(cd "$out" && timeout 600 "$venv/bin/schemathesis" --config-file "$home/schemathesis.toml" run \
  "$url/openapi.json" --checks all --max-examples "$MAX_EXAMPLES" --seed "$SEED" --no-color \
  --report junit --report-dir "$out")
status=$?
set -e
if [ "$status" != 0 ]; then
  echo "schemathesis failed ($status); the end of the collector's log ($out/server.log):" >&2
  tail -n 40 "$out/server.log" >&2
fi
exit "$status"
