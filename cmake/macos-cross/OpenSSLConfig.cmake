# OpenSSL for the macOS cross build (netd-tunnel's TLS and token hashes).
# - Headers: the host's OpenSSL 3 headers. The API is the same on every
#   platform; configuration.h, in the multiarch folder, is x86_64's, as the
#   target is (LP64 like macOS).
# - Libraries: link stubs (text .tbd files, as the SDK's own libraries are)
#   of Homebrew's libssl.3.dylib and libcrypto.3.dylib, listing the symbols
#   the host's libssl.so.3 and libcrypto.so.3 export (OpenSSL 3 keeps them
#   across its 3.x releases). On a Mac the program then loads Homebrew's
#   openssl@3 (brew install openssl@3); a native build there uses
#   find_package(OpenSSL) with Homebrew's own files instead of this one.
include("${CMAKE_CURRENT_LIST_DIR}/host_headers.cmake")
netd_expose_host_headers(openssl libssl-dev)
set(NETD_OPENSSL_ARCH_INCLUDE "${NETD_HOST_INCLUDE}/x86_64-linux-gnu" CACHE PATH
    "where the host's OpenSSL configuration.h is, for x86_64 (the macOS cross build)")
set(NETD_OPENSSL_HOST_LIB "/usr/lib/x86_64-linux-gnu" CACHE PATH
    "where the host's libssl.so.3 and libcrypto.so.3 are (the macOS cross build)")
set(NETD_OPENSSL_PREFIX "/usr/local/opt/openssl@3" CACHE PATH "Homebrew's openssl@3 on an x86_64 Mac")
if(NOT EXISTS "${NETD_OPENSSL_ARCH_INCLUDE}/openssl/configuration.h")
  message(FATAL_ERROR "${NETD_OPENSSL_ARCH_INCLUDE}/openssl/configuration.h is missing: install libssl-dev")
endif()
set(arch_headers "${CMAKE_BINARY_DIR}/macos-openssl-arch")
file(MAKE_DIRECTORY "${arch_headers}")
if(NOT EXISTS "${arch_headers}/openssl")
  file(CREATE_LINK "${NETD_OPENSSL_ARCH_INCLUDE}/openssl" "${arch_headers}/openssl" SYMBOLIC)
endif()

find_program(NETD_HOST_NM NAMES nm llvm-nm llvm-nm-19 llvm-nm-18 llvm-nm-17 llvm-nm-16 llvm-nm-15 llvm-nm-14
             NO_CMAKE_FIND_ROOT_PATH REQUIRED)

# Writes the stub of `library` (ssl or crypto) and makes OpenSSL::<target>.
function(netd_openssl_stub library target)
  set(shared "${NETD_OPENSSL_HOST_LIB}/lib${library}.so.3")
  if(NOT EXISTS "${shared}")
    message(FATAL_ERROR "${shared} is missing: install libssl-dev (its symbols make the macOS link stub)")
  endif()
  set(stub "${CMAKE_BINARY_DIR}/macos-openssl-stubs/lib${library}.tbd")
  if(NOT EXISTS "${stub}" OR "${shared}" IS_NEWER_THAN "${stub}")
    execute_process(COMMAND "${NETD_HOST_NM}" -D --defined-only --format=posix "${shared}"
                    OUTPUT_VARIABLE listing RESULT_VARIABLE failed)
    if(failed)
      message(FATAL_ERROR "${NETD_HOST_NM} could not list ${shared}")
    endif()
    # "SSL_new@@OPENSSL_3.0.0 T 0000 0000": C names, a Mach-O underscore.
    string(REGEX MATCHALL "[A-Za-z_][A-Za-z0-9_]*(@@?[A-Za-z0-9_.]+)? [TDRBVWi] " entries "${listing}")
    set(symbols)
    foreach(entry ${entries})
      string(REGEX REPLACE "^([A-Za-z0-9_]+).*" "_\\1" symbol "${entry}")
      list(APPEND symbols "${symbol}")
    endforeach()
    list(REMOVE_DUPLICATES symbols)
    list(SORT symbols)
    list(JOIN symbols ", " joined)
    file(WRITE "${stub}"
         "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n"
         "install-name: '${NETD_OPENSSL_PREFIX}/lib/lib${library}.3.dylib'\n"
         "current-version: 3\ncompatibility-version: 3\n"
         "exports:\n  - targets: [ x86_64-macos ]\n    symbols: [ ${joined} ]\n...\n")
  endif()
  if(NOT TARGET OpenSSL::${target})
    add_library(OpenSSL::${target} SHARED IMPORTED)
    set_target_properties(OpenSSL::${target} PROPERTIES
      IMPORTED_LOCATION "${stub}"
      INTERFACE_INCLUDE_DIRECTORIES "${NETD_HOST_HEADERS};${arch_headers}")
  endif()
endfunction()

netd_openssl_stub(crypto Crypto)
netd_openssl_stub(ssl SSL)
set_property(TARGET OpenSSL::SSL PROPERTY INTERFACE_LINK_LIBRARIES OpenSSL::Crypto)
set(OPENSSL_FOUND TRUE)
set(OpenSSL_FOUND TRUE)
file(STRINGS "${NETD_HOST_INCLUDE}/openssl/opensslv.h" version_line REGEX "# *define OPENSSL_VERSION_STR " LIMIT_COUNT 1)
string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" OPENSSL_VERSION "${version_line}")
