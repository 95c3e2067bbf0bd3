# The host's header-only packages, for the macOS cross build: each one's
# folder of headers (boost/, nlohmann/, ...) is linked into a folder of the
# build, and that folder is what the compiler is given. /usr/include itself
# must never be: glibc's headers there would shadow the SDK's.
# Included by each package's file and its version file (which CMake reads
# in a scope of its own), so no include_guard: the variables are set anew.
set(NETD_HOST_INCLUDE /usr/include CACHE PATH "where the host's header-only packages are (the macOS cross build)")
set(NETD_HOST_HEADERS "${CMAKE_BINARY_DIR}/macos-host-headers")

# Links NETD_HOST_INCLUDE/<tree> into NETD_HOST_HEADERS, or fails naming
# the package to install.
function(netd_expose_host_headers tree package)
  if(NOT IS_DIRECTORY "${CMAKE_BINARY_DIR}")
    message(FATAL_ERROR "netd_expose_host_headers: no build folder")
  endif()
  if(NOT IS_DIRECTORY "${NETD_HOST_INCLUDE}/${tree}")
    message(FATAL_ERROR "${NETD_HOST_INCLUDE}/${tree} is missing: install ${package}")
  endif()
  file(MAKE_DIRECTORY "${NETD_HOST_HEADERS}")
  if(NOT EXISTS "${NETD_HOST_HEADERS}/${tree}")
    file(CREATE_LINK "${NETD_HOST_INCLUDE}/${tree}" "${NETD_HOST_HEADERS}/${tree}" SYMBOLIC)
  endif()
endfunction()

# An imported header-only target over NETD_HOST_HEADERS (as a system
# folder, like /usr/include natively: no warnings from inside it).
function(netd_header_only_target target)
  if(NOT TARGET ${target})
    add_library(${target} INTERFACE IMPORTED)
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${NETD_HOST_HEADERS}")
  endif()
endfunction()

# PACKAGE_VERSION from the numbers that `regexes` capture, in order, from
# NETD_HOST_INCLUDE/<header>; then the usual "this or newer" rule.
function(netd_host_package_version header)
  set(parts)
  foreach(regex ${ARGN})
    file(STRINGS "${NETD_HOST_INCLUDE}/${header}" line REGEX "${regex}" LIMIT_COUNT 1)
    string(REGEX REPLACE ".*${regex}.*" "\\1" number "${line}")
    list(APPEND parts "${number}")
  endforeach()
  list(JOIN parts "." version)
  set(PACKAGE_VERSION "${version}" PARENT_SCOPE)
  if(PACKAGE_FIND_VERSION AND version VERSION_LESS PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE FALSE PARENT_SCOPE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE TRUE PARENT_SCOPE)
  endif()
endfunction()
