include("${CMAKE_CURRENT_LIST_DIR}/host_headers.cmake")
# 3.11 keeps its version in detail/abi_macros.hpp, older ones in json.hpp.
set(header nlohmann/json.hpp)
if(EXISTS "${NETD_HOST_INCLUDE}/nlohmann/detail/abi_macros.hpp")
  set(header nlohmann/detail/abi_macros.hpp)
endif()
netd_host_package_version(${header} "NLOHMANN_JSON_VERSION_MAJOR ([0-9]+)" "NLOHMANN_JSON_VERSION_MINOR ([0-9]+)"
                          "NLOHMANN_JSON_VERSION_PATCH ([0-9]+)")
