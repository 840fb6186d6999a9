# ctest packaging_desktop_entry: the menu entry the package installs and the login entry the
# app writes (ui/platform/AutostartXdg.cpp) start the same program with the same name,
# comment and icon, and the icon name is the one the package installs into hicolor.
#   cmake -DDESKTOP_FILE=... -DAUTOSTART_SOURCE=... -P CheckDesktopEntry.cmake
cmake_minimum_required(VERSION 3.21)
file(STRINGS "${DESKTOP_FILE}" entry)
file(READ "${AUTOSTART_SOURCE}" autostart)

function(entry_value key out)
    set(value "")
    foreach(line IN LISTS entry)
        if(line MATCHES "^${key}=(.*)$")
            set(value "${CMAKE_MATCH_1}")
        endif()
    endforeach()
    set(${out} "${value}" PARENT_SCOPE)
endfunction()

set(failures "")
foreach(key Type Name Comment Icon Terminal)
    entry_value(${key} packaged)
    if(NOT autostart MATCHES "\"${key}=([^\\\\\"]*)\\\\n\"")
        string(APPEND failures "  the login entry has no ${key}\n")
        continue()
    endif()
    if(NOT packaged STREQUAL CMAKE_MATCH_1)
        string(APPEND failures
               "  ${key}: menu entry '${packaged}', login entry '${CMAKE_MATCH_1}'\n")
    endif()
endforeach()

# The login entry runs the installed binary by its path; the menu entry by its name.
entry_value(Exec exec)
if(NOT exec STREQUAL "tollgate")
    string(APPEND failures "  Exec is '${exec}', not the tollgate binary\n")
endif()
entry_value(Icon icon)
if(NOT icon STREQUAL "tollgate")
    string(APPEND failures "  Icon '${icon}' is not the installed hicolor/*/apps/tollgate icon\n")
endif()
# Qt sets WM_CLASS from the application name (app/main.cpp: "tollgate").
entry_value(StartupWMClass wmclass)
if(NOT wmclass STREQUAL "tollgate")
    string(APPEND failures "  StartupWMClass '${wmclass}' is not the app's WM_CLASS tollgate\n")
endif()

if(failures)
    message(FATAL_ERROR "packaging_desktop_entry: FAIL\n${failures}")
endif()
message(STATUS "packaging_desktop_entry: PASS")
