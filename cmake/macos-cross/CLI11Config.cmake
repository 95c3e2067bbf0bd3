# CLI11 for the macOS cross build (see host_headers.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/host_headers.cmake")
netd_expose_host_headers(CLI libcli11-dev)
netd_header_only_target(CLI11::CLI11)
