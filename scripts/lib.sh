# Shared by the scripts: tool paths and the one-time installs. Sourced, not run.
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pnpm_version="$(sed -n 's/.*"packageManager": "pnpm@\([0-9.]*\)".*/\1/p' "$repo_root/package.json")"

say() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0" .sh)" "$*" >&2; }

# The Node line the project runs on (.node-version; package.json engines agree). A machine whose
# node is another line gets that version from the npm registry's `node` package (the only source
# reachable here) in .cache/, put first on PATH. Instant once there.
node_version="$(tr -d ' v\n' <"$repo_root/.node-version")"
ensure_node() {
  local have
  have="$(node --version 2>/dev/null || true)"
  # Same major line, same or newer patch: the machine's own node will do.
  if [ -n "$have" ] && [ "${have%%.*}" = "v${node_version%%.*}" ] &&
    [ "$(printf '%s\n%s\n' "${have#v}" "$node_version" | sort -V | head -n 1)" = "$node_version" ]; then
    return
  fi
  local dir="$repo_root/.cache/node-v$node_version"
  local bin="$dir/node_modules/node/bin"
  if [ "$("$bin/node" --version 2>/dev/null)" != "v$node_version" ]; then
    command -v npm >/dev/null 2>&1 || { say "npm is missing: cannot install Node $node_version"; return 1; }
    say "installing Node $node_version from the npm registry into .cache/ (this machine has ${have:-no node})"
    rm -rf "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$node_version" >/dev/null
    [ "$("$bin/node" --version 2>/dev/null)" = "v$node_version" ] || { say "installing Node $node_version failed"; return 1; }
  fi
  export PATH="$bin:$PATH"
}

ensure_pnpm() {
  ensure_node
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$pnpm_version" ]; then return; fi
  say "installing pnpm $pnpm_version from the npm registry"
  npm install -g --silent "pnpm@$pnpm_version" >/dev/null 2>&1 || npm install -g "pnpm@$pnpm_version"
}

ensure_node_modules() {
  ensure_pnpm
  # Quick when the lockfile is already installed; --frozen-lockfile keeps CI honest.
  (cd "$repo_root" && pnpm install --frozen-lockfile --reporter=silent)
}

# The services as JavaScript (scripts/build.ts): what start.sh and the bench run. Under a second.
build_services() {
  (cd "$repo_root" && node --import tsx scripts/build.ts)
}

# A Go-built tool in ~/go/bin (reused when present): go_tool NAME MODULE@VERSION PACKAGE
go_tool() {
  local name=$1 modver=$2 pkg=$3
  if [ -x "$HOME/go/bin/$name" ]; then return; fi
  command -v go >/dev/null 2>&1 || { say "Go is missing (expected in /usr/local/go/bin): cannot build $name"; return 1; }
  say "building $name from $modver (once; reused from ~/go/bin afterwards)"
  if (cd /tmp && go install "$pkg@${modver#*@}") >/dev/null 2>"/tmp/go-install-$name.log"; then return; fi
  # The module proxy here refuses the version list that `go install pkg@v` reads for
  # deprecation notices; building from the downloaded module needs only the version itself.
  local dir
  dir=$(cd /tmp && go mod download -json "$modver" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  [ -n "$dir" ] || { say "cannot download $modver"; cat "/tmp/go-install-$name.log" >&2; return 1; }
  (cd "$dir" && go build -trimpath -o "$HOME/go/bin/$name" "./${pkg#"${modver%@*}"/}")
}

# Debian packages, installed once with apt-get (as root) when PROBE (a file) is missing:
# apt_packages PROBE PACKAGE... ; returns 1 when they could not be installed.
apt_packages() {
  local probe=$1
  shift
  if [ -e "$probe" ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then say "$probe is missing and this is not root: cannot apt-get install $*"; return 1; fi
  say "installing $* with apt-get (once)"
  if [ ! -f /tmp/.pos-apt-updated ]; then apt-get update -qq >/dev/null 2>&1 && touch /tmp/.pos-apt-updated || true; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 || return 1
  [ -e "$probe" ]
}
