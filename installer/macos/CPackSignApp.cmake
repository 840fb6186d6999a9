# CPACK_PRE_BUILD_SCRIPTS hook of the DragNDrop package: signs Tollgate.app in CPack's staging
# directory before the disk image is made. With TOLLGATE_CODESIGN_IDENTITY set (a
# "Developer ID Application: ..." identity in the keychain) it is a Developer ID signature
# with the hardened runtime that notarisation requires; without it an ad-hoc signature, since
# macdeployqt rewrites the binaries after the linker signed them and Apple silicon runs no
# binary without a valid signature.
file(GLOB_RECURSE apps LIST_DIRECTORIES true "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.app")
list(FILTER apps INCLUDE REGEX "/Tollgate\\.app$")
if(NOT apps)
    message(FATAL_ERROR "CPackSignApp: no Tollgate.app under ${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
endif()
foreach(app IN LISTS apps)
    execute_process(COMMAND "${CPACK_TOLLGATE_SIGN_SCRIPT}" app "${app}"
                    RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "CPackSignApp: signing ${app} failed")
    endif()
endforeach()
