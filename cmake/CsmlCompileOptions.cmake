# Compile options shared by every csml target, applied through the csml_options interface target.
add_library(csml_options INTERFACE)
target_compile_options(csml_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                              -Wconversion -Wno-sign-conversion)
if(CSML_WERROR)
  target_compile_options(csml_options INTERFACE -Werror)
endif()
if(CSML_SANITIZE)
  target_compile_options(csml_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                -fno-sanitize-recover=undefined)
  target_link_options(csml_options INTERFACE -fsanitize=address,undefined)
endif()
if(CSML_SANITIZE_THREAD)
  if(CSML_SANITIZE)
    message(FATAL_ERROR "CSML_SANITIZE_THREAD and CSML_SANITIZE cannot be combined")
  endif()
  target_compile_options(csml_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(csml_options INTERFACE -fsanitize=thread)
endif()

# Adds one domain module: a static library csml_<name> (alias csml::<name>) built from SOURCES,
# linking DEPS publicly. Modules may depend only on modules listed before them; the linker
# then enforces that dependencies point one way.
function(csml_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(csml_${name} STATIC ${ARG_SOURCES})
  add_library(csml::${name} ALIAS csml_${name})
  target_include_directories(csml_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(csml_${name} PUBLIC ${ARG_DEPS} PRIVATE csml_options ${ARG_PRIVATE_DEPS})
  set_target_properties(csml_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# GoogleTest and GoogleMock are parsed once for all tests: every test target reuses this
# precompiled header (the compile options below must stay identical to csml_add_test's).
function(csml_add_test_pch)
  add_library(csml_test_pch OBJECT ${PROJECT_SOURCE_DIR}/tests/testing/pch_anchor.cc)
  target_link_libraries(csml_test_pch PRIVATE csml_options GTest::gtest GTest::gmock)
  target_compile_definitions(csml_test_pch PRIVATE
                             CSML_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
                             CSML_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  target_precompile_headers(csml_test_pch PRIVATE <gtest/gtest.h> <gmock/gmock.h> <string>
                            <vector> <filesystem>)
endfunction()

# Adds one GoogleTest executable registered with CTest; LABELS defaults to "unit".
function(csml_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE csml_options ${ARG_DEPS} GTest::gtest_main GTest::gmock)
  target_precompile_headers(${name} REUSE_FROM csml_test_pch)
  target_compile_definitions(${name} PRIVATE CSML_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
                                             CSML_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()
