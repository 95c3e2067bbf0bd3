include("${CMAKE_CURRENT_LIST_DIR}/host_headers.cmake")
# BOOST_LIB_VERSION is "1_74" for 1.74.
netd_host_package_version(boost/version.hpp "BOOST_LIB_VERSION \"([0-9]+)_" "BOOST_LIB_VERSION \"[0-9]+_([0-9]+)")
