# Sourced by bin/detect and bin/build with $wp_phase and $wp_bin set. POSIX sh:
# many build images (Paketo base and tiny) have neither bash nor python3.
#
# 1. With no configuration, answer at once without starting Python.
# 2. Otherwise find a Python >= 3.9 and exec the package with it, isolated
#    (-I: no environment, no user site; -S: no site-packages), so nothing of the
#    build image can shadow the buildpack's own modules in src/ and vendor/.
# 3. With no Python: detect asks for a CPython provider in an "or" plan and
#    passes; build fails with what to do, unless there is nothing to do.

wp_bp_dir=${CNB_BUILDPACK_DIR:-$(cd "$wp_bin/.." && pwd -P)}

if [ "$wp_phase" = detect ]; then
  wp_platform=${CNB_PLATFORM_DIR:-${1:-}}
  wp_plan=${CNB_BUILD_PLAN_PATH:-${2:-}}
else
  wp_platform=${CNB_PLATFORM_DIR:-${2:-}}
fi

# Only shell builtins from here on (but `python -V`): PATH may hold nothing else.

# wp_read NAME: sets wp_value to the setting, from <platform>/env/NAME if that
# file exists (how `pack build --env` arrives), else from the environment.
wp_read() {
  eval "wp_value=\${$1:-}"
  if [ -n "$wp_platform" ] && [ -f "$wp_platform/env/$1" ]; then
    wp_value=
    wp_sep=
    while IFS= read -r wp_line || [ -n "$wp_line" ]; do
      wp_value="$wp_value$wp_sep$wp_line"
      wp_sep='
'
    done < "$wp_platform/env/$1"
  fi
}

wp_configured=false
wp_read BP_WRITABLE_PATHS_FILE
case $wp_value in *[!\ \	]*) wp_configured=true ;; esac
if [ -e .writable-paths ] || [ -L .writable-paths ]; then wp_configured=true; fi
wp_read BP_WRITABLE_PATHS
case $wp_value in *[!\ \	:]*) wp_configured=true ;; esac

# wp_read_version: sets wp_version from buildpack.toml, for the title line that
# the shell prints itself (only build does, and only without Python).
wp_read_version() {
  wp_version=unknown
  while IFS= read -r wp_line; do
    case $wp_line in
      *"version = "*) wp_line=${wp_line#*\"}; wp_version=${wp_line%%\"*}; break ;;
    esac
  done < "$wp_bp_dir/buildpack.toml"
}

if [ "$wp_configured" = false ]; then
  if [ "$wp_phase" = build ]; then
    wp_read_version
    echo "Writable Paths Buildpack $wp_version"
    echo "  No writable paths configured (no .writable-paths file, BP_WRITABLE_PATHS unset): nothing to do"
  fi
  exit 0
fi

# wp_usable PATH: whether PATH runs CPython 3.9 to 3.14 (`-V` exits before start-up,
# but still costs a process: only used where the name does not tell the version).
wp_usable() {
  [ -f "$1" ] && [ -x "$1" ] || return 1
  wp_v=$("$1" -V 2>&1) || return 1
  # The package vendors pydantic-core for CPython 3.9 to 3.14 only.
  case $wp_v in
    "Python 3.9" | "Python 3.9."* | "Python 3.1"[0-4] | "Python 3.1"[0-4].*) return 0 ;;
  esac
  return 1
}

wp_python=
wp_read BP_WRITABLE_PATHS_PYTHON
if [ -n "$wp_value" ]; then
  case $wp_value in
    */*) wp_candidates=$wp_value ;;
    *) wp_candidates= ; wp_names="$wp_value" ;;
  esac
  if [ -n "$wp_candidates" ] && wp_usable "$wp_candidates"; then
    wp_python=$wp_candidates
  elif [ -n "$wp_candidates" ]; then
    echo "Warning: BP_WRITABLE_PATHS_PYTHON=$wp_value is not a Python 3.9 or newer; looking on PATH" >&2
  fi
fi
if [ -z "$wp_python" ] && [ -n "${wp_names:-}" ]; then
  wp_ifs=$IFS; IFS=:
  for wp_dir in ${PATH:-/usr/bin:/bin}; do
    if [ -n "$wp_dir" ] && wp_usable "$wp_dir/$wp_names"; then
      wp_python=$wp_dir/$wp_names
      break
    fi
  done
  IFS=$wp_ifs
fi
# PATH order decides; in each directory a versioned name first, which says its
# version (the Python code checks it again): no `-V` process for it.
if [ -z "$wp_python" ]; then
  wp_ifs=$IFS; IFS=:
  for wp_dir in ${PATH:-/usr/bin:/bin}; do
    IFS=$wp_ifs
    [ -n "$wp_dir" ] || continue
    for wp_name in python3.14 python3.13 python3.12 python3.11 python3.10 python3.9; do
      if [ -f "$wp_dir/$wp_name" ] && [ -x "$wp_dir/$wp_name" ]; then
        wp_python=$wp_dir/$wp_name
        break 2
      fi
    done
    if wp_usable "$wp_dir/python3"; then
      wp_python=$wp_dir/python3
      break
    fi
  done
  IFS=$wp_ifs
fi
if [ -z "$wp_python" ]; then
  if [ "$wp_phase" = detect ]; then
    # Ask for a CPython provider (paketo-buildpacks/cpython puts python3 on PATH
    # for later buildpacks); the empty alternative lets the group pass without one.
    if [ -n "${wp_plan:-}" ]; then
      printf '%s\n' '[[requires]]' '  name = "cpython"' '' '  [requires.metadata]' \
        '    build = true' '' '[[or]]' > "$wp_plan"
    fi
    echo "writable-paths: no python3 >= 3.9 on PATH; asking for cpython in the build plan"
    exit 0
  fi
  wp_read_version
  {
    echo "Writable Paths Buildpack $wp_version"
    echo "ERROR: No Python 3.9 or newer found to apply the writable paths"
    echo
    echo "This buildpack runs on the build image's python3, and this build image has none"
    echo "on PATH (Paketo base and tiny builders ship no python3; Paketo full, Heroku and"
    echo "Google builders do)."
    echo
    echo "Add a CPython buildpack before this one, for example"
    echo "  pack build IMAGE --builder paketobuildpacks/builder-jammy-base \\"
    echo "    --buildpack paketo-buildpacks/cpython --buildpack <this buildpack>"
    echo "or point BP_WRITABLE_PATHS_PYTHON at an interpreter."
  } >&2
  exit 1
fi

exec "$wp_python" -I -S -c '
import sys
if sys.implementation.name != "cpython" or not (3, 9) <= sys.version_info[:2] <= (3, 14):
    sys.exit("ERROR: %s is not CPython 3.9 to 3.14 (it is %s %s). Set "
             "BP_WRITABLE_PATHS_PYTHON to one that is." % (sys.executable,
             sys.implementation.name, sys.version.split()[0]))
sys.path[:0] = [sys.argv[1] + "/src", sys.argv[1] + "/vendor"]
from writable_paths.__main__ import main
sys.exit(main(sys.argv[1:]))
' "$wp_bp_dir" "$wp_phase" "$@"
