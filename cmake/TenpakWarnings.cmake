# Warning flags shared by every TenPak target. `tenpak_target_warnings(t)` applies them.
function(tenpak_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wcast-align -Wimplicit-fallthrough
                                           # GCC 12 reports false -Wrestrict on `"text" + std::string`
                                           # at -O3 (GCC bug 105329); the pattern is everywhere.
                                           -Wno-restrict)
  if(TENPAK_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Declares one module library: tenpak_add_module(NAME SOURCES... DEPS ...)
function(tenpak_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(tenpak_${name} STATIC ${ARG_SOURCES})
  target_include_directories(tenpak_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                            PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(tenpak_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  tenpak_target_warnings(tenpak_${name})
endfunction()
