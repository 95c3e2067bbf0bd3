# Cross-compiles netd for macOS 12 on x86_64 from Linux (make macos-cross):
# Debian's clang and ld64.lld against an unpacked macOS SDK, given as
# -DMACOS_SDK=DIR or in the environment. The SDK brings the C library,
# libc++ and the system headers; Boost, nlohmann-json, CLI11 and spdlog/fmt
# are header-only here and come from the host's packages, and OpenSSL is the
# host's headers with link stubs of Homebrew's (netd-tunnel), through the
# package files of cmake/macos-cross/ (never the host's own, which would put
# /usr/include, glibc's headers, ahead of the SDK's).
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
# Darwin 21 is macOS 12.
set(CMAKE_SYSTEM_VERSION 21.0)

if(NOT MACOS_SDK)
  set(MACOS_SDK "$ENV{MACOS_SDK}")
endif()
if(NOT MACOS_SDK OR NOT EXISTS "${MACOS_SDK}/usr/include/c++/v1")
  message(FATAL_ERROR "pass MACOS_SDK=DIR, an unpacked macOS SDK (DIR/usr/include/c++/v1 must exist); got '${MACOS_SDK}'")
endif()
# try_compile projects read this file again, without the cache.
set(ENV{MACOS_SDK} "${MACOS_SDK}")

set(CMAKE_OSX_SYSROOT "${MACOS_SDK}" CACHE PATH "the macOS SDK" FORCE)
set(CMAKE_OSX_DEPLOYMENT_TARGET 12.0 CACHE STRING "the oldest macOS to run on" FORCE)
set(CMAKE_OSX_ARCHITECTURES x86_64 CACHE STRING "" FORCE)

# Any clang targets Darwin; GCC does not.
find_program(NETD_MACOS_CXX NAMES clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14 REQUIRED)
find_program(NETD_MACOS_LD NAMES ld64.lld ld64.lld-19 ld64.lld-18 ld64.lld-17 ld64.lld-16 ld64.lld-15 ld64.lld-14 REQUIRED)
find_program(NETD_MACOS_AR NAMES llvm-ar llvm-ar-19 llvm-ar-18 llvm-ar-17 llvm-ar-16 llvm-ar-15 llvm-ar-14 REQUIRED)
find_program(NETD_MACOS_RANLIB NAMES llvm-ranlib llvm-ranlib-19 llvm-ranlib-18 llvm-ranlib-17 llvm-ranlib-16
                                      llvm-ranlib-15 llvm-ranlib-14 REQUIRED)
set(CMAKE_CXX_COMPILER "${NETD_MACOS_CXX}")
set(CMAKE_CXX_COMPILER_TARGET x86_64-apple-macos12.0)
set(CMAKE_AR "${NETD_MACOS_AR}" CACHE FILEPATH "" FORCE)
set(CMAKE_RANLIB "${NETD_MACOS_RANLIB}" CACHE FILEPATH "" FORCE)

# The SDK's libc++ headers, not the host's (clang would look beside itself
# first). -stdlib++-isystem rather than -nostdinc++ and -isystem: the flags
# reach the link too, where clang warns of -nostdinc++ as unused.
set(CMAKE_CXX_FLAGS_INIT "-stdlib=libc++ -stdlib++-isystem ${MACOS_SDK}/usr/include/c++/v1")
# A linker version of ld64's era makes clang pass -platform_version, the
# only form ld64.lld takes.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--ld-path=${NETD_MACOS_LD} -mlinker-version=609")

# Libraries and headers from the SDK alone; packages from
# cmake/macos-cross/ alone; programs (the build's tools) from the host.
set(CMAKE_FIND_ROOT_PATH "${MACOS_SDK}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_PACKAGE_PREFER_CONFIG TRUE)
foreach(package Boost nlohmann_json spdlog CLI11 OpenSSL)
  set(${package}_DIR "${CMAKE_CURRENT_LIST_DIR}/macos-cross" CACHE PATH "" FORCE)
endforeach()

# The tests need GoogleTest for macOS, and a Mac to run on.
set(NETD_BUILD_TESTS OFF CACHE BOOL "Build the test suites" FORCE)
