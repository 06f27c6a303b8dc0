# Shared by scripts/test and scripts/run-local. Sourced, not run.

step() { printf '\n== %s (at %ss) ==\n' "$*" "$SECONDS"; }

localstack_healthy() {
  curl -fsS -m 2 "http://127.0.0.1:${TRUSTREG_LS_PORT:-4566}/_localstack/health" >/dev/null 2>&1
}

# Cargo's target directory (CARGO_TARGET_DIR when set, as cargo itself reads it).
TARGET_DIR=${CARGO_TARGET_DIR:-target}
# The Lambda artifacts, as cargo-lambda lays them out: <dir>/<function>/bootstrap.
LAMBDA_DIR=$TARGET_DIR/lambda

# What the tests deploy is what an operator ships: cargo-lambda builds (profile `lambda` of
# Cargo.toml) for x86_64, which LocalStack's host executor runs and an x86_64 AWS stack runs
# as they are; the README's AWS recipe builds the same for arm64. With them the CLI (a host
# debug build), which links the hierarchy's stacks.
FUNCTIONS=(register notify interrogate admin exchange)
CARGO_LAMBDA_VERSION=1.9.2
build_functions() {
  local bin args=()
  bin=$(ensure_cargo_lambda) || return 1
  for f in "${FUNCTIONS[@]}"; do args+=(-p "trustreg-$f"); done
  PATH="$bin:$PATH" cargo lambda build --locked --profile lambda --x86-64 "${args[@]}" \
    --lambda-dir "$LAMBDA_DIR"
  cargo build --locked -p trustreg-cli
}

# cargo-lambda from PyPI (it brings its own zig, which links and cross-compiles C for Linux
# targets); prints its bin directory. About 6 s to install.
ensure_cargo_lambda() {
  ensure_pip_venv "cargo-lambda-$CARGO_LAMBDA_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION"
}

# The arm64 build the README recommends on AWS, checked (not built: a full arm64 build takes
# about 12 minutes here): the functions type-check for aarch64-unknown-linux-gnu, their C
# dependencies (ring, aws-lc-sys) compiled by zig for that target, as cargo-lambda does.
check_arm64() {
  local bin zigcc
  bin=$(ensure_cargo_lambda) || return 1
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
    rustup target add aarch64-unknown-linux-gnu
  mkdir -p "$TARGET_DIR"
  zigcc=$(cd "$TARGET_DIR" && pwd)/zig-aarch64
  # cc-rs passes clang's --target=<rust triple>, which zig does not parse: the wrapper drops it
  # for zig's own triple (as cargo-lambda's and cargo-zigbuild's wrappers do).
  printf '#!/bin/sh\nfor a; do shift; case "$a" in --target=*) ;; *) set -- "$@" "$a" ;; esac; done\nexec "%s" -m ziglang cc -target aarch64-linux-gnu "$@"\n' \
    "$bin/python" >"$zigcc-cc"
  printf '#!/bin/sh\nexec "%s" -m ziglang ar "$@"\n' "$bin/python" >"$zigcc-ar"
  chmod +x "$zigcc-cc" "$zigcc-ar"
  local args=()
  for f in "${FUNCTIONS[@]}"; do args+=(-p "trustreg-$f"); done
  CC_aarch64_unknown_linux_gnu="$zigcc-cc" AR_aarch64_unknown_linux_gnu="$zigcc-ar" \
    cargo check --locked --profile lambda --target aarch64-unknown-linux-gnu "${args[@]}"
}

# The administrator key of local stacks: the tests sign admin requests with its private half
# (admin-key.pem, kid admin:test); stacks get its public half. Made once, kept across runs.
TEST_ADMIN_DIR=.trustreg/test-admin
ensure_test_admin() {
  if [ ! -f "$TEST_ADMIN_DIR/admin-key.pem" ] || [ ! -f "$TEST_ADMIN_DIR/admin-jwks.json" ]; then
    cargo run --quiet --locked -p trustreg-cli -- admin keygen --out "$TEST_ADMIN_DIR" --name test
  fi
}

# deploy_stack NAME REGID PATH TYPE DOMAINS [LINKED_ACCOUNTS [RATE_LIMITS]]
#   -> .trustreg/stacks/NAME.json
# Local stacks take requests at test speed from one address: their abuse limits are high
# unless RATE_LIMITS says otherwise (the peer test registry proves a low one).
# Local stacks admit loopback subscription endpoints (the tests' and the local run's
# subscribers listen on loopback) and LocalStack's http inboxes in links (a stack on AWS is
# deployed without the flag: its inboxes are https).
# LINKED_ACCOUNTS: AWS accounts of linked registries elsewhere, allowed to send to the inbox.
# DEPLOY_PARAMETERS (environment, optional): more KEY=VALUE template parameters, e.g. the
# retained keys a restored registry takes over (scripts/restore-drill).
# The command is the README's AWS one ("Deploying to AWS"), sent to LocalStack by
# AWS_ENDPOINT_URL (localstack/env), plus what only local stacks get: the loopback endpoints,
# the high limits and --replace-failed (a local stack is throwaway: one whose creation failed
# is deleted and made again rather than stopping the run). Every parameter local stacks set
# is given, so an update sets them rather than keeping a previous value.
LOCAL_RATE_LIMITS=challenges=100000,sign_ups=100000,logins=100000,anonymous_lookups=100000
deploy_stack() {
  local name=$1 regid=$2 path=$3 type=$4 domains=$5 linked=${6:-} limits=${7:-$LOCAL_RATE_LIMITS}
  mkdir -p .trustreg/stacks
  ensure_test_admin
  "$TRUSTREG_LS_PYTHON" infra/deploy.py --region "$AWS_REGION" \
    --stack-name "$name" --reg-id "$regid" --path "$path" --type "$type" \
    --domains "$domains" --bin-dir "$LAMBDA_DIR" \
    --admin-keys "$TEST_ADMIN_DIR/admin-jwks.json" --linked-accounts "$linked" \
    --allow-loopback-endpoints --rate-limits "$limits" --replace-failed \
    --parameter-overrides PortalHosting=website ${DEPLOY_PARAMETERS:-} \
    --out ".trustreg/stacks/$name.json"
}

# stack_output NAME OUTPUT: one output of a deployed stack (.trustreg/stacks/NAME.json).
stack_output() {
  "$TRUSTREG_LS_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    ".trustreg/stacks/$1.json" "$2"
}

# link_stacks CHILD PARENT: links two deployed stacks of the hierarchy, on both sides, with
# the CLI and the test administrator (Y.3059 6.1 a): at CHILD, PARENT is its parent; at PARENT,
# CHILD is a child. link_stacks A B peer links two geographical registries as peers.
link_stacks() {
  local a=$1 b=$2 kind=${3:-parent} back
  case "$kind" in parent) back=child ;; peer) back=peer ;; *) echo "link_stacks: kind $kind" >&2; return 2 ;; esac
  local cli="$TARGET_DIR/debug/trustreg"
  "$cli" admin link --api "$(stack_output "$a" local_api_url)" --key-dir "$TEST_ADMIN_DIR" \
    --kind "$kind" --other-api "$(stack_output "$b" local_api_url)" \
    --other-inbox "$(stack_output "$b" InboxUrl)"
  "$cli" admin link --api "$(stack_output "$b" local_api_url)" --key-dir "$TEST_ADMIN_DIR" \
    --kind "$back" --other-api "$(stack_output "$a" local_api_url)" \
    --other-inbox "$(stack_output "$a" InboxUrl)"
}

# The AWS account the test peer stands for (tests/tests/hierarchy.rs checks its inbox policy).
PEER_TEST_ACCOUNT=111122223333
# The test peer's anonymous lookups per caller and minute (tests/tests/attacks.rs).
PEER_ANONYMOUS_LOOKUPS=20

# deploy_hierarchy PRIMARY SECTORAL GEOGRAPHICAL [SECOND_PRIMARY [PEER]]: the registries of
# IN1.HLT.P07's branch, linked primary <-> sectoral <-> geographical; with SECOND_PRIMARY,
# IN1.HLT.P08 below the same sectoral registry; with PEER, the geographical registry IN2 as
# IN1's peer (Y.3059 6.1 a). The primary goes first (it uploads the function zips); the others
# are deployed side by side, then linked.
deploy_hierarchy() {
  local primary=$1 sectoral=$2 geographical=$3 second=${4:-} peer=${5:-} domains=health,energy
  deploy_stack "$primary" P07 IN1.HLT.P07 primary "$domains"
  local started=$SECONDS jobs=() job failed=0
  deploy_stack "$sectoral" HLT IN1.HLT sectoral "$domains" &
  jobs+=($!)
  deploy_stack "$geographical" IN1 IN1 geographical "$domains" &
  jobs+=($!)
  if [ -n "$second" ]; then
    deploy_stack "$second" P08 IN1.HLT.P08 primary "$domains" &
    jobs+=($!)
  fi
  if [ -n "$peer" ]; then
    # The peer stands for a registry of another AWS account: its inbox admits that account.
    # Its anonymous lookups are limited low, which tests/tests/attacks.rs proves.
    deploy_stack "$peer" IN2 IN2 geographical "$domains" "$PEER_TEST_ACCOUNT" \
      "${LOCAL_RATE_LIMITS%anonymous_lookups=*}anonymous_lookups=$PEER_ANONYMOUS_LOOKUPS" &
    jobs+=($!)
  fi
  for job in "${jobs[@]}"; do wait "$job" || failed=1; done
  [ "$failed" = 0 ] || { echo "deploy_hierarchy: a deployment failed (see above)" >&2; return 1; }
  link_stacks "$primary" "$sectoral"
  [ -z "$second" ] || link_stacks "$second" "$sectoral"
  link_stacks "$sectoral" "$geographical"
  [ -z "$peer" ] || link_stacks "$geographical" "$peer" peer
  echo "hierarchy: ${#jobs[@]} registries above and beside $primary deployed and linked in $((SECONDS - started))s"
}

# deploy_stack_if_changed NAME REGID PATH TYPE DOMAINS: deploy_stack, skipped when the stack
# stands in this LocalStack as deployed from the same inputs (arguments, template, deploy
# script, admin keys, function binaries) last time. LocalStack 4.7 runs a full update even
# when nothing changed, about a minute per stack; the inputs' digest is kept next to the
# outputs (.trustreg/stacks/NAME.inputs).
deploy_stack_if_changed() {
  local name=$1 stamp=".trustreg/stacks/$1.inputs" inputs
  ensure_test_admin
  inputs=$(deploy_inputs "$@")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ] && stack_standing "$name"; then
    echo "deploy: $name kept (deployed from the same inputs)"
    return 0
  fi
  rm -f "$stamp"
  deploy_stack "$@"
  echo "$inputs" >"$stamp"
}

# deploy_inputs ARGS...: the digest of what a deployment of a local stack is made from.
deploy_inputs() {
  {
    printf '%s\n' "$*"
    cat infra/template.yaml infra/deploy.py "$TEST_ADMIN_DIR/admin-jwks.json"
    for f in "${FUNCTIONS[@]}"; do cat "$LAMBDA_DIR/$f/bootstrap"; done
  } | sha256sum | cut -d' ' -f1
}

# stack_standing NAME: the stack exists in this LocalStack, complete, and is the one of its
# outputs file (LocalStack forgets its stacks when stopped; a new one has a new API).
stack_standing() {
  "$TRUSTREG_LS_PYTHON" - "$1" ".trustreg/stacks/$1.json" <<'PY' 2>/dev/null
import json, sys
import boto3
name, out = sys.argv[1], sys.argv[2]
try:
    stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    with open(out) as f:
        saved = json.load(f)
except Exception:
    sys.exit(1)
outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
complete = stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
sys.exit(0 if complete and outputs.get("ApiId") == saved.get("ApiId") else 1)
PY
}

# ------------------------------------------------------------------------ the portal (portal/)
# A client-side Leptos app built to static files: cargo for wasm32-unknown-unknown (profile
# `portal`: size-optimised, see Cargo.toml), then wasm-bindgen into portal/dist with the static
# files beside. No trunk: the two steps and a copy are all it did.
TRUSTREG_CACHE=${TRUSTREG_CACHE:-$HOME/.cache/trustreg}
PORTAL_DIST=portal/dist
PORTAL_PROFILE=portal

# The wasm-bindgen version Cargo.lock pins: the CLI must be exactly that version.
wasm_bindgen_version() {
  awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# ensure_wasm_bindgen: wasm-bindgen-cli of Cargo.lock's version, installed once into
# $TRUSTREG_CACHE/wasm-bindgen-<version> (about 6 minutes on 2 cores); prints the binary's path.
# Without --locked: a dependency of its lockfile is missing from the index.
ensure_wasm_bindgen() {
  local version root
  version=$(wasm_bindgen_version)
  [ -n "$version" ] || { echo "portal: no wasm-bindgen in Cargo.lock" >&2; return 1; }
  root="$TRUSTREG_CACHE/wasm-bindgen-$version"
  if [ ! -x "$root/bin/wasm-bindgen" ] ||
    [ "$("$root/bin/wasm-bindgen" --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
    echo "portal: installing wasm-bindgen-cli $version into $root" >&2
    # Its own temporary target dir (CARGO_TARGET_DIR would keep its build in ours).
    env -u CARGO_TARGET_DIR CARGO_INSTALL_ROOT="$root" \
      cargo install wasm-bindgen-cli --version "=$version" --force >&2
  fi
  echo "$root/bin/wasm-bindgen"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
}

# build_portal: portal/dist with index.html, style.css, trustreg_portal.js and
# trustreg_portal_bg.wasm. config.json is not part of the build: whoever serves dist writes it
# for its stack (infra/deploy.py, scripts/serve_portal.py).
build_portal() {
  local wb started=$SECONDS
  ensure_wasm_target || return 1
  wb=$(ensure_wasm_bindgen) || return 1
  cargo build --locked --profile "$PORTAL_PROFILE" --target wasm32-unknown-unknown \
    -p trustreg-portal || return 1
  rm -rf "$PORTAL_DIST"
  mkdir -p "$PORTAL_DIST"
  "$wb" --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$PORTAL_DIST" --out-name trustreg_portal \
    "$TARGET_DIR/wasm32-unknown-unknown/$PORTAL_PROFILE/trustreg-portal.wasm" || return 1
  cp portal/index.html portal/style.css "$PORTAL_DIST/" || return 1
  echo "portal: built $PORTAL_DIST in $((SECONDS - started))s" \
    "(wasm $(wc -c <"$PORTAL_DIST/trustreg_portal_bg.wasm") bytes)"
}

# ensure_chromium: Debian's chromium (and chromium-driver) for the browser tests, installed
# with apt when /usr/bin/chromium is missing (about a minute). Playwright's own browser
# download does not work here; playwright-core drives this one.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  step "install chromium (apt)"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
}

# ensure_tpm_tools: swtpm, its tools (swtpm_setup, swtpm_localca), tpm2-tools and libtss2-dev
# for the device's TPM tests (cargo test -p trustreg-device --features tpm: tss-esapi links
# libtss2 through pkg-config, and each test authors and starts its own swtpm), installed with
# apt when one is missing (about 15 s).
ensure_tpm_tools() {
  command -v swtpm >/dev/null && command -v swtpm_setup >/dev/null \
    && command -v tpm2_getcap >/dev/null && pkg-config --exists tss2-esys 2>/dev/null && return 0
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  step "install swtpm, tpm2-tools, libtss2-dev (apt)"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    swtpm swtpm-tools tpm2-tools libtss2-dev pkg-config
}

# ensure_portal_e2e: the browser tests' npm packages (portal/e2e: playwright-core, pinned by
# its package-lock.json), installed with npm ci when missing or when the lockfile changed.
# npm's download cache is kept with the project's other caches.
PORTAL_E2E=portal/e2e
ensure_portal_e2e() {
  local want stamp=$PORTAL_E2E/node_modules/.trustreg-lock
  want=$(sha256sum "$PORTAL_E2E/package-lock.json" | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (cd "$PORTAL_E2E" && npm ci --no-audit --no-fund --cache "$TRUSTREG_CACHE/npm")
    echo "$want" >"$stamp"
  fi
}

# serve_portal STACK PORT [ARGS...]: scripts/serve_portal.py in the background for STACK's API
# (PORT 0: any free one); sets PORTAL_URL and PORTAL_PID once it listens. Stop it with
# stop_portal. With PORTAL_DETACH=FILE it runs in a session of its own, outliving the script,
# logging to FILE.
serve_portal() {
  local stack=$1 port=$2 url_file
  shift 2
  url_file=$(mktemp -u "${TMPDIR:-/tmp}/trustreg-portal-url.XXXXXX")
  local cmd=(python3 scripts/serve_portal.py --stack "$stack" --port "$port" --url-file "$url_file" "$@")
  if [ -n "${PORTAL_DETACH:-}" ]; then
    setsid "${cmd[@]}" </dev/null >"$PORTAL_DETACH" 2>&1 &
  else
    "${cmd[@]}" &
  fi
  PORTAL_PID=$!
  local waited=0
  until [ -s "$url_file" ]; do
    if ! kill -0 "$PORTAL_PID" 2>/dev/null || ((waited > 100)); then
      echo "portal: the server did not start" >&2
      stop_portal
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  PORTAL_URL=$(cat "$url_file")
}

stop_portal() {
  if [ -n "${PORTAL_PID:-}" ]; then
    kill "$PORTAL_PID" 2>/dev/null || true
    wait "$PORTAL_PID" 2>/dev/null || true
    PORTAL_PID=
  fi
}

# ------------------------------------------------------------------ Python tools from PyPI
# ensure_pip_venv DIR REQUIREMENT...: a venv at $TRUSTREG_CACHE/DIR/venv holding exactly these
# pinned requirements, installed once and reused (a stamp names what it holds); the cache is
# shared by all clones of this user, so installs take a lock. Prints the venv's bin directory.
ensure_pip_venv() {
  local dir=$1
  shift
  local root="$TRUSTREG_CACHE/$dir" py=${TRUSTREG_PYTHON:-python3.11}
  local venv="$root/venv" want="$*"
  if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$root"
    (
      flock 8
      if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
        echo "tools: installing $want into $venv" >&2
        [ -x "$venv/bin/python" ] || "$py" -m venv "$venv" >&2 || exit 1
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" >&2 || exit 1
        printf '%s' "$want" >"$venv/.stamp"
      fi
    ) 8>"$root/install.lock" || return 1
  fi
  echo "$venv/bin"
}

# API fuzzing (scripts/fuzz-api): schemathesis, with cryptography for the hooks' signed
# enquirer login (scripts/fuzz_api_hooks.py). About 10 s to install; prints its schemathesis.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local bin
  bin=$(ensure_pip_venv "schemathesis-$SCHEMATHESIS_VERSION" \
    "schemathesis==$SCHEMATHESIS_VERSION" "cryptography==46.0.3") || return 1
  echo "$bin/schemathesis"
}

# Template checks (scripts/check-template): cfn-lint (AWS's CloudFormation linter) and checkov
# (security and best-practice policies). About 35 s and 420 MB to install; prints the bin dir.
CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
ensure_cfn_tools() {
  ensure_pip_venv "cfn-tools-$CFN_LINT_VERSION-$CHECKOV_VERSION" \
    "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION"
}
