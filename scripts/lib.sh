# Shared by scripts/test and scripts/run-local. Sourced, not run.

step() { printf '\n== %s ==\n' "$*"; }

localstack_healthy() {
  curl -fsS -m 2 http://127.0.0.1:4566/_localstack/health >/dev/null 2>&1
}

# Cargo's target directory (CARGO_TARGET_DIR when set, as cargo itself reads it).
TARGET_DIR=${CARGO_TARGET_DIR:-target}
LAMBDA_DIR=$TARGET_DIR/lambda-local

# Host builds of the Lambda bootstraps (LocalStack runs them as host processes): the debug
# build the tests share, stripped into $LAMBDA_DIR so the zips stay small; with them the CLI,
# which links the hierarchy's stacks. AWS artifacts come from cargo-lambda instead (README).
FUNCTIONS=(register notify interrogate admin exchange)
build_functions() {
  local args=()
  for f in "${FUNCTIONS[@]}"; do args+=(-p "trustreg-$f"); done
  cargo build --locked "${args[@]}" -p trustreg-cli
  mkdir -p "$LAMBDA_DIR"
  for f in "${FUNCTIONS[@]}"; do strip -o "$LAMBDA_DIR/$f" "$TARGET_DIR/debug/$f"; done
}

# The administrator key of local stacks: the tests sign admin requests with its private half
# (admin-key.pem, kid admin:test); stacks get its public half. Made once, kept across runs.
TEST_ADMIN_DIR=.trustreg/test-admin
ensure_test_admin() {
  if [ ! -f "$TEST_ADMIN_DIR/admin-key.pem" ] || [ ! -f "$TEST_ADMIN_DIR/admin-jwks.json" ]; then
    cargo run --quiet --locked -p trustreg-cli -- admin keygen --out "$TEST_ADMIN_DIR" --name test
  fi
}

# deploy_stack NAME REGID PATH TYPE DOMAINS -> .trustreg/stacks/NAME.json
deploy_stack() {
  local name=$1 regid=$2 path=$3 type=$4 domains=$5
  mkdir -p .trustreg/stacks
  ensure_test_admin
  "$TRUSTREG_LS_PYTHON" infra/deploy.py \
    --stack-name "$name" --reg-id "$regid" --path "$path" --type "$type" \
    --domains "$domains" --bin-dir "$LAMBDA_DIR" --arch x86_64 \
    --admin-keys "$TEST_ADMIN_DIR/admin-jwks.json" \
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

# deploy_hierarchy PRIMARY SECTORAL GEOGRAPHICAL: the three registries of IN1.HLT.P07's
# branch, linked primary <-> sectoral <-> geographical. The primary goes first (it uploads the
# function zips); the other two are deployed side by side.
deploy_hierarchy() {
  local primary=$1 sectoral=$2 geographical=$3 domains=health,energy
  deploy_stack "$primary" P07 IN1.HLT.P07 primary "$domains"
  local started=$SECONDS
  deploy_stack "$sectoral" HLT IN1.HLT sectoral "$domains" &
  local sec=$!
  deploy_stack "$geographical" IN1 IN1 geographical "$domains" &
  local geo=$!
  wait "$sec"
  wait "$geo"
  link_stacks "$primary" "$sectoral"
  link_stacks "$sectoral" "$geographical"
  echo "hierarchy: $sectoral and $geographical deployed and linked in $((SECONDS - started))s"
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
    for f in "${FUNCTIONS[@]}"; do cat "$LAMBDA_DIR/$f"; done
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
