#include "PrivatePaths.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace tollgate {

namespace {
constexpr QFileDevice::Permissions kOwnerDirectory =
    QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner;
constexpr QFileDevice::Permissions kGroupAndOthers = QFileDevice::ReadGroup
    | QFileDevice::WriteGroup | QFileDevice::ExeGroup | QFileDevice::ReadOther
    | QFileDevice::WriteOther | QFileDevice::ExeOther;
} // namespace

bool PrivatePaths::isAppDirectory(const QString &path)
{
    const QString clean = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    for (const auto location :
         {QStandardPaths::AppConfigLocation, QStandardPaths::AppDataLocation}) {
        if (clean == QDir::cleanPath(QStandardPaths::writableLocation(location)))
            return true;
    }
    return false;
}

bool PrivatePaths::makeDirectory(const QString &path, QString *error)
{
    const QString clean = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    // The missing components, outermost first, each made private as it is created.
    QStringList missing;
    for (QString at = clean; !QFileInfo::exists(at); at = QFileInfo(at).absolutePath()) {
        missing.prepend(at);
        if (QFileInfo(at).absolutePath() == at)
            break;
    }
    for (const QString &directory : std::as_const(missing)) {
        if (!QDir().mkdir(directory, kOwnerDirectory) && !QFileInfo(directory).isDir()) {
            if (error)
                *error = QStringLiteral("cannot create the directory %1")
                             .arg(QDir::toNativeSeparators(directory));
            return false;
        }
    }
    if (!QFileInfo(clean).isDir()) {
        if (error)
            *error = QStringLiteral("%1 is not a directory").arg(QDir::toNativeSeparators(clean));
        return false;
    }
    // An app directory an older version created with the default mode.
    if (isAppDirectory(clean) && (QFile::permissions(clean) & kGroupAndOthers))
        QFile::setPermissions(clean, kOwnerDirectory);
    return true;
}

void PrivatePaths::restrictFile(const QString &path)
{
    const QFileDevice::Permissions current = QFile::permissions(path);
    if (QFileInfo::exists(path) && (current & kGroupAndOthers))
        QFile::setPermissions(path, current & ~kGroupAndOthers);
}

} // namespace tollgate
