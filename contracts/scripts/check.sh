#!/usr/bin/env bash
# Contract checks for CI, run from anywhere:
#   1. buf lint (STANDARD rules);
#   2. buf breaking (FILE rules) against the contracts on branch main of this git repository; skipped, with a
#      message, while main has no contracts yet;
#   3. buf generate leaves src/gen/ exactly as committed (no diff, no new files).
#
# Environment:
#   BUF_AGAINST            a buf input to compare against instead of main (e.g. '../.git#tag=v1.2.0,subdir=contracts')
#   KANSOKU_CONTRACTS_BASE the branch to compare against (default: main); origin/<branch> is used when there is no
#                          local branch of that name (CI checkouts of a pull request).
set -euo pipefail

contracts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$contracts_dir"

buf="$contracts_dir/node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
  echo "contracts check: $buf is missing; run 'pnpm install --filter @kansoku/contracts' first" >&2
  exit 2
fi

echo "== buf lint"
"$buf" lint
echo "ok"

echo "== buf breaking"
if [[ -n "${BUF_AGAINST:-}" ]]; then
  echo "against $BUF_AGAINST"
  "$buf" breaking --against "$BUF_AGAINST"
  echo "ok"
else
  git_dir="$(git rev-parse --absolute-git-dir)"
  # Path of contracts/ inside the repository ("contracts/"), without the trailing slash.
  subdir="$(git rev-parse --show-prefix)"
  subdir="${subdir%/}"
  base="${KANSOKU_CONTRACTS_BASE:-main}"
  if git rev-parse --verify --quiet "refs/heads/$base" >/dev/null; then
    ref="refs/heads/$base"
    selector="branch=$base"
  elif git rev-parse --verify --quiet "refs/remotes/origin/$base" >/dev/null; then
    ref="refs/remotes/origin/$base"
    selector="ref=origin/$base"
  else
    echo "contracts check: no branch '$base' (nor origin/$base) to compare against;" \
      "fetch it (git fetch origin $base:$base) or set BUF_AGAINST" >&2
    exit 2
  fi
  if ! git cat-file -e "$ref:$subdir/buf.yaml" 2>/dev/null; then
    echo "skipped: $base has no contracts yet ($subdir/buf.yaml absent), nothing to be compatible with"
  else
    against="$git_dir#$selector,subdir=$subdir"
    echo "against $against"
    "$buf" breaking --against "$against"
    echo "ok"
  fi
fi

echo "== buf generate leaves src/gen unchanged"
"$buf" generate
untracked="$(git ls-files --others --exclude-standard -- src/gen)"
if ! git diff --exit-code --stat -- src/gen || [[ -n "$untracked" ]]; then
  [[ -n "$untracked" ]] && printf 'not committed:\n%s\n' "$untracked"
  echo "contracts check: src/gen is not what buf generates from proto/;" \
    "run 'pnpm --filter @kansoku/contracts gen' and commit the result" >&2
  exit 1
fi
echo "ok"
