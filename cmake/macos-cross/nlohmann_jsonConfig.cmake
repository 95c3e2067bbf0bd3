# nlohmann-json for the macOS cross build (see host_headers.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/host_headers.cmake")
netd_expose_host_headers(nlohmann nlohmann-json3-dev)
netd_header_only_target(nlohmann_json::nlohmann_json)
