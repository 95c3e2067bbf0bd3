# spdlog for the macOS cross build, header-only (SPDLOG_HEADER_ONLY), and
# so is fmt where spdlog uses the packaged one, as Debian's does (see
# host_headers.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/host_headers.cmake")
netd_expose_host_headers(spdlog libspdlog-dev)
netd_header_only_target(spdlog::spdlog)
set(definitions SPDLOG_HEADER_ONLY)
if(IS_DIRECTORY "${NETD_HOST_INCLUDE}/fmt")
  netd_expose_host_headers(fmt libfmt-dev)
  list(APPEND definitions SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
endif()
set_target_properties(spdlog::spdlog PROPERTIES INTERFACE_COMPILE_DEFINITIONS "${definitions}")
