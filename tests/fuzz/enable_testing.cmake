# Included after project(zoned) by the fuzz preset (CMAKE_PROJECT_zoned_INCLUDE): with
# ZONED_BUILD_TESTS=OFF the top level does not enable testing, and ctest needs it there to find
# the fuzz tests (a subdirectory's enable_testing() writes no top-level CTestTestfile).
enable_testing()
