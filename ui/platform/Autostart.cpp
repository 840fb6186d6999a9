#include "Autostart.h"

#include <QCoreApplication>

namespace tollgate {

// The per-OS parts (isEnabled, setEnabled, location) live in AutostartXdg.cpp,
// AutostartWindows.cpp and AutostartMacOs.cpp; the build compiles the one for its OS.

Autostart::Autostart(QString programPath, QStringList arguments)
    : m_programPath(programPath.isEmpty() ? QCoreApplication::applicationFilePath()
                                          : std::move(programPath))
    , m_arguments(std::move(arguments))
{
}

} // namespace tollgate
