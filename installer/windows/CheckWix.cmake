# ctest packaging_wix: builds an MSI on Linux from the configured WiX template and patch
# (CPACK_WIX_TEMPLATE, CPACK_WIX_PATCH_FILE) with msitools' wixl, reads its tables back with
# msiinfo and checks what the Windows package promises: the fixed upgrade code, version and
# publisher, a per-user install, and the optional "Start at login" feature writing the value
# the app's own setting manages.
#
# wixl implements part of WiX 3: its preprocessor does not take CPack's includes and
# conditionals, it has no UI (UIRef) or WixVariable, and takes features and directories only
# inside the Product. So this script does the few preprocessor steps CPack's files need
# itself, leaves out the UI lines (light checks them on Windows), and puts stand-ins for the
# directories, files and features CPack generates, with the same ids (INSTALL_ROOT,
# ProductFeature, bin\tollgate.exe), where the template references them.
#   cmake -DCPACK_CONFIG=<build>/CPackConfig.cmake -DWORK_DIR=... -DWIXL=... -DMSIINFO=...
#         -DAUTOSTART_SOURCE=ui/platform/AutostartWindows.cpp -P CheckWix.cmake
cmake_minimum_required(VERSION 3.21)

if(NOT WIXL OR NOT MSIINFO OR NOT EXISTS "${WIXL}" OR NOT EXISTS "${MSIINFO}")
    message(STATUS "packaging_wix: skipped (wixl or msiinfo not found; Debian: wixl msitools)")
    return()
endif()
include("${CPACK_CONFIG}")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(failures "")

# The XML inside <CPackWiXFragment Id="id"> of the patch file.
function(patch_fragment patch id out)
    set(open "<CPackWiXFragment Id=\"${id}\">")
    string(FIND "${patch}" "${open}" start)
    if(start LESS 0)
        message(FATAL_ERROR "packaging_wix: FAIL\n  the patch has no fragment ${id}")
    endif()
    string(LENGTH "${open}" open_length)
    math(EXPR start "${start} + ${open_length}")
    string(SUBSTRING "${patch}" ${start} -1 rest)
    string(FIND "${rest}" "</CPackWiXFragment>" end)
    string(SUBSTRING "${rest}" 0 ${end} inner)
    set(${out} "${inner}" PARENT_SCOPE)
endfunction()

file(READ "${CPACK_WIX_PATCH_FILE}" patch)
patch_fragment("${patch}" "#PRODUCT" product_fragment)
patch_fragment("${patch}" "#PRODUCTFEATURE" feature_fragment)

# properties.wxi as CPack writes it: a Property per CPACK_WIX_PROPERTY_<ID>.
set(properties "")
get_cmake_property(variables VARIABLES)
foreach(variable IN LISTS variables)
    if(variable MATCHES "^CPACK_WIX_PROPERTY_(.+)$")
        string(APPEND properties
               "<Property Id=\"${CMAKE_MATCH_1}\" Value=\"${${variable}}\"/>\n")
    endif()
endforeach()

# The defines of cpack_variables.wxi. wixl takes source files by relative path only.
set(CPACK_WIX_PRODUCT_GUID "*")
set(CPACK_WIX_LICENSE_RTF "License.rtf")
if(DEFINED CPACK_WIX_PRODUCT_ICON)
    if(NOT EXISTS "${CPACK_WIX_PRODUCT_ICON}")
        string(APPEND failures "  the product icon ${CPACK_WIX_PRODUCT_ICON} was not built\n")
    else()
        file(COPY_FILE "${CPACK_WIX_PRODUCT_ICON}" "${WORK_DIR}/ProductIcon.ico")
    endif()
    set(CPACK_WIX_PRODUCT_ICON "ProductIcon.ico")
endif()
set(defines CPACK_WIX_PRODUCT_GUID CPACK_WIX_UPGRADE_GUID CPACK_PACKAGE_NAME
            CPACK_PACKAGE_VERSION CPACK_PACKAGE_VENDOR CPACK_WIX_LICENSE_RTF
            CPACK_WIX_PRODUCT_ICON CPACK_WIX_UI_BANNER CPACK_WIX_UI_DIALOG CPACK_WIX_UI_REF)

file(READ "${CPACK_WIX_TEMPLATE}" template)
string(REPLACE "@CPACK_WIX_CUSTOM_XMLNS_EXPANDED@" "" template "${template}")
string(REPLACE "<?include \"cpack_variables.wxi\"?>" "" template "${template}")
string(REPLACE "<?include \"properties.wxi\"?>" "${properties}" template "${template}")
string(REPLACE "<?include \"product_fragment.wxi\"?>" "${product_fragment}" template
               "${template}")
# <?ifdef NAME?> ... <?endif?> blocks, then the UI lines wixl cannot build.
string(REPLACE ";" "\\;" template "${template}")
string(REPLACE "\n" ";" lines "${template}")
set(main "")
set(keep TRUE)
foreach(line IN LISTS lines)
    if(line MATCHES "<\\?ifdef ([A-Za-z0-9_]+)\\?>")
        if(DEFINED ${CMAKE_MATCH_1} AND NOT "${${CMAKE_MATCH_1}}" STREQUAL "")
            set(keep TRUE)
        else()
            set(keep FALSE)
        endif()
        continue()
    elseif(line MATCHES "<\\?endif\\?>")
        set(keep TRUE)
        continue()
    elseif(line MATCHES "<\\?" AND NOT line MATCHES "<\\?xml ")
        message(FATAL_ERROR "packaging_wix: FAIL\n  unhandled preprocessor line: ${line}")
    endif()
    if(keep AND NOT line MATCHES "<UIRef |<WixVariable ")
        string(APPEND main "${line}\n")
    endif()
endforeach()
foreach(define IN LISTS defines)
    string(REPLACE "$(var.${define})" "${${define}}" main "${main}")
endforeach()
if(main MATCHES "\\$\\(var\\.([A-Za-z0-9_]+)\\)")
    string(APPEND failures "  the template uses $(var.${CMAKE_MATCH_1}), which CPack does not define\n")
endif()
if(NOT main MATCHES "<FeatureRef Id=\"ProductFeature\"/>")
    string(APPEND failures "  the template does not reference CPack's ProductFeature\n")
endif()

# What CPack generates from the install tree (directories.wxs, files.wxs, features.wxs),
# reduced to the executable, in place of the reference to its feature.
file(WRITE "${WORK_DIR}/tollgate.exe" "stand-in\n")
set(generated "
    <Directory Id=\"TARGETDIR\" Name=\"SourceDir\">
      <Directory Id=\"ProgramFiles64Folder\">
        <Directory Id=\"INSTALL_ROOT\" Name=\"${CPACK_PACKAGE_INSTALL_DIRECTORY}\">
          <Directory Id=\"CM_DP_bin\" Name=\"bin\">
            <Component Id=\"CM_CP_bin.tollgate.exe\" Guid=\"*\">
              <File Id=\"CM_FP_bin.tollgate.exe\" Source=\"tollgate.exe\" KeyPath=\"yes\"/>
            </Component>
          </Directory>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id=\"ProductFeature\" Title=\"${CPACK_WIX_ROOT_FEATURE_TITLE}\" Level=\"1\"
             Display=\"expand\" Absent=\"disallow\" ConfigurableDirectory=\"INSTALL_ROOT\">
      ${feature_fragment}
      <ComponentRef Id=\"CM_CP_bin.tollgate.exe\"/>
    </Feature>
")
string(REPLACE "<FeatureRef Id=\"ProductFeature\"/>" "${generated}" main "${main}")
file(WRITE "${WORK_DIR}/main.wxs" "${main}")

set(msi "${WORK_DIR}/tollgate-check.msi")
execute_process(COMMAND "${WIXL}" -a x64 -o "${msi}" main.wxs
                WORKING_DIRECTORY "${WORK_DIR}"
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT result EQUAL 0 OR NOT EXISTS "${msi}")
    message(FATAL_ERROR "packaging_wix: FAIL\n  wixl could not build the MSI:\n${output}")
endif()

function(msi_table table out)
    # msiinfo writes a table's binary columns (the Icon table's images) as files into
    # ./<table>/, so it runs in the work directory.
    execute_process(COMMAND "${MSIINFO}" export "${msi}" ${table}
                    WORKING_DIRECTORY "${WORK_DIR}"
                    RESULT_VARIABLE result OUTPUT_VARIABLE rows ERROR_QUIET)
    string(REPLACE "\r" "" rows "${rows}")
    set(${out} "${rows}" PARENT_SCOPE)
endfunction()

function(expect_row table rows regex what)
    if(NOT rows MATCHES "${regex}")
        set(failures "${failures}  ${table}: ${what}\n" PARENT_SCOPE)
    endif()
endfunction()

msi_table(Property property)
expect_row(Property "${property}" "\nUpgradeCode\t{${CPACK_WIX_UPGRADE_GUID}}\n"
           "UpgradeCode is not {${CPACK_WIX_UPGRADE_GUID}}")
expect_row(Property "${property}" "\nProductVersion\t${CPACK_PACKAGE_VERSION}\n"
           "ProductVersion is not ${CPACK_PACKAGE_VERSION}")
expect_row(Property "${property}" "\nManufacturer\t${CPACK_PACKAGE_VENDOR}\n"
           "Manufacturer is not ${CPACK_PACKAGE_VENDOR}")
expect_row(Property "${property}" "\nALLUSERS\t2\n" "ALLUSERS is not 2 (dual-purpose package)")
expect_row(Property "${property}" "\nMSIINSTALLPERUSER\t1\n"
           "MSIINSTALLPERUSER is not 1 (per-user by default)")
expect_row(Property "${property}" "\nARPURLINFOABOUT\t" "no ARPURLINFOABOUT")

# wixl leaves out ARPPRODUCTICON (a Property with the value as text); the icon is there.
msi_table(Icon icon)
expect_row(Icon "${icon}" "\nProductIcon.ico\t" "no product icon")

msi_table(Upgrade upgrade)
expect_row(Upgrade "${upgrade}" "{${CPACK_WIX_UPGRADE_GUID}}\t\t${CPACK_PACKAGE_VERSION}\t"
           "no major upgrade of earlier versions")

# The login entry: the value name and command the app itself writes and reads.
file(READ "${AUTOSTART_SOURCE}" autostart)
if(NOT autostart MATCHES "kValueName = QStringLiteral\\(\"([^\"]+)\"\\)")
    string(APPEND failures "  ${AUTOSTART_SOURCE} names no Run value\n")
endif()
set(value_name "${CMAKE_MATCH_1}")
msi_table(Registry registry)
expect_row(Registry "${registry}"
           "\t1\tSoftware\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\t${value_name}\t\"\\[INSTALL_ROOT\\]bin\\\\tollgate.exe\"\tTollgateStartAtLogin\n"
           "no HKCU Run value '${value_name}' = \"[INSTALL_ROOT]bin\\tollgate.exe\"")

msi_table(Feature feature)
expect_row(Feature "${feature}" "\nStartAtLogin\tProductFeature\t[^\t]*\t[^\t]*\t[0-9]+\t2\t"
           "no optional StartAtLogin feature (level 2) under ProductFeature")
msi_table(FeatureComponents feature_components)
expect_row(FeatureComponents "${feature_components}" "\nStartAtLogin\tTollgateStartAtLogin\n"
           "StartAtLogin does not install TollgateStartAtLogin")

if(failures)
    message(FATAL_ERROR "packaging_wix: FAIL\n${failures}")
endif()
file(SIZE "${msi}" msi_size)
message(STATUS "packaging_wix: PASS (wixl built ${msi_size} bytes; upgrade code "
               "{${CPACK_WIX_UPGRADE_GUID}}, per-user, optional Start at login)")
