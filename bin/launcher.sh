# Sourced by bin/detect and bin/build with $wp_phase and $wp_bin set. POSIX sh:
# the build image may hold nothing but /bin/sh (no Python, no coreutils, musl).
#
# 1. Decide "configured or not" and, if not, answer at once without Python.
# 2. Otherwise run the buildpack's own CPython for this machine (python/<arch>/,
#    started through its own glibc loader, so neither the image's libc nor its
#    ld.so.cache is used), isolated (-I: no PYTHON* variables, no user site, no
#    script or current directory on sys.path; -S: no site-packages; -B: never write
#    bytecode into the buildpack dir, which is read-only on builders). PATH is
#    never searched: nothing from the app dir or the image can be run instead.

wp_bp_dir=${CNB_BUILDPACK_DIR:-$(cd "$wp_bin/.." && pwd -P)}

if [ "$wp_phase" = detect ]; then
  wp_platform=${CNB_PLATFORM_DIR:-${1:-}}
else
  wp_platform=${CNB_PLATFORM_DIR:-${2:-}}
fi

# wp_set NAME BLANKS: whether setting NAME holds a character other than BLANKS.
# From <platform>/env/NAME if it exists (how `pack build --env` arrives), else from
# the environment. Reads a file line by line and stops at the first line that
# decides, so the cost is linear in what is read; the Python side reads the value
# itself, with its limits. A file that is not a regular file is an error here,
# before anything reads it (a FIFO would block, /dev/zero never ends).
wp_set() {
  wp_file=$wp_platform/env/$1
  if [ -z "$wp_platform" ] || { ! [ -e "$wp_file" ] && ! [ -L "$wp_file" ]; }; then
    eval "wp_value=\${$1:-}"
    case $wp_value in *[!$2]*) return 0 ;; esac
    return 1
  fi
  if [ -L "$wp_file" ] || ! [ -f "$wp_file" ]; then
    {
      echo "ERROR: Invalid setting $1"
      echo
      echo "$wp_file is not a regular file (it is a symbolic link, FIFO, device or directory),"
      echo "so it is not read. Platforms write each setting as a regular file there; set $1"
      echo "with 'pack build --env $1=VALUE' or in project.toml."
    } >&2
    exit 1
  fi
  [ -r "$wp_file" ] || return 0 # the Python side names the error
  while IFS= read -r wp_line || [ -n "$wp_line" ]; do
    case $wp_line in *[!$2]*) return 0 ;; esac
  done < "$wp_file"
  return 1
}

wp_configured=false
if [ -e .writable-paths ] || [ -L .writable-paths ]; then wp_configured=true; fi
if [ "$wp_configured" = false ] && wp_set BP_WRITABLE_PATHS_FILE ' 	'; then wp_configured=true; fi
if [ "$wp_configured" = false ] && wp_set BP_WRITABLE_PATHS ' 	:'; then wp_configured=true; fi
# Checked even when configured otherwise, so that no later reader meets them.
for wp_name in BP_WRITABLE_PATHS_FILE BP_WRITABLE_PATHS BP_WRITABLE_PATHS_STRICT BP_LOG_LEVEL; do
  if [ -n "$wp_platform" ] && { [ -L "$wp_platform/env/$wp_name" ] ||
    { [ -e "$wp_platform/env/$wp_name" ] && ! [ -f "$wp_platform/env/$wp_name" ]; }; }; then
    wp_set "$wp_name" ' '
  fi
done

# A pattern file with a misspelled name (.writeable-paths, writable_paths.txt...): the
# Python side names it, so that the app developer learns why nothing is writable.
if [ "$wp_configured" = false ]; then
  for wp_name in .[Ww][Rr][Ii][Tt]*[Pp][Aa][Tt][Hh]* [Ww][Rr][Ii][Tt]*[Pp][Aa][Tt][Hh]*; do
    if [ -e "$wp_name" ] || [ -L "$wp_name" ]; then wp_configured=true; break; fi
  done
fi

if [ "$wp_configured" = false ]; then
  if [ "$wp_phase" = build ]; then
    wp_version=unknown
    while IFS= read -r wp_line; do
      case $wp_line in
        *"version = "*) wp_line=${wp_line#*\"}; wp_version=${wp_line%%\"*}; break ;;
      esac
    done < "$wp_bp_dir/buildpack.toml"
    echo "Writable Paths Buildpack $wp_version"
    echo "  No writable paths configured (no .writable-paths file, BP_WRITABLE_PATHS unset): nothing to do"
  fi
  exit 0
fi

# The machine's arch: the kernel says it without a process where it can (newer kernels
# has /proc/sys/kernel/arch); uname is the fallback.
wp_machine=
if [ -r /proc/sys/kernel/arch ]; then read -r wp_machine < /proc/sys/kernel/arch || :; fi
[ -n "$wp_machine" ] || wp_machine=$(uname -m 2>/dev/null) || wp_machine=unknown
case $wp_machine in
  x86_64) wp_arch=amd64 wp_loader=ld-linux-x86-64.so.2 ;;
  aarch64 | arm64) wp_arch=arm64 wp_loader=ld-linux-aarch64.so.1 ;;
  *)
    echo "ERROR: The writable-paths buildpack does not run on $wp_machine" >&2
    echo >&2
    echo "It carries its own CPython for x86_64 (linux/amd64) and aarch64 (linux/arm64) only." >&2
    exit 1
    ;;
esac
wp_runtime=$wp_bp_dir/python/$wp_arch
if ! [ -f "$wp_runtime/lib/$wp_loader" ]; then
  {
    echo "ERROR: The writable-paths buildpack has no CPython for linux/$wp_arch"
    echo
    echo "$wp_runtime/lib/$wp_loader is missing. Use an archive built for linux/$wp_arch"
    echo "('make package'), or run 'make install' in a checkout used as the buildpack."
  } >&2
  exit 1
fi

unset LD_PRELOAD LD_AUDIT
exec "$wp_runtime/lib/$wp_loader" --inhibit-cache --library-path "$wp_runtime/lib" \
  "$wp_runtime/bin/python3.13" -I -S -B "$wp_bp_dir/bin/entry.py" "$wp_bp_dir" "$wp_phase" "$@"
