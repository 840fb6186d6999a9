#include "VirtualKeyFile.h"

#include "config/PrivatePaths.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QSaveFile>
#include <QStandardPaths>

namespace tollgate {

VirtualKeyFile::VirtualKeyFile(QString path)
    : m_path(std::move(path))
{
}

QString VirtualKeyFile::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation)
        + QStringLiteral("/virtual-key");
}

QByteArray VirtualKeyFile::generateKey()
{
    quint32 words[6];
    QRandomGenerator::system()->fillRange(words);
    QByteArray raw(reinterpret_cast<const char *>(words), sizeof(words));
    return QByteArrayLiteral("tg-local-") + raw.toHex();
}

QByteArray VirtualKeyFile::loadOrCreate()
{
    m_wasCreated = false;
    QString directoryError;
    if (!PrivatePaths::makeDirectory(QFileInfo(m_path).absolutePath(), &directoryError)) {
        m_error = directoryError;
        return {};
    }
    QFile file(m_path);
    if (file.exists()) {
        PrivatePaths::restrictFile(m_path); // an older version's key file may be readable
        if (!file.open(QIODevice::ReadOnly)) {
            m_error = QStringLiteral("cannot read %1: %2").arg(m_path, file.errorString());
            return {};
        }
        const QByteArray key = file.readAll().trimmed();
        if (key.size() < 16) {
            m_error = QStringLiteral("%1 does not hold a valid key").arg(m_path);
            return {};
        }
        return key;
    }
    const QByteArray key = generateKey();
    QSaveFile out(m_path);
    if (!out.open(QIODevice::WriteOnly)) {
        m_error = QStringLiteral("cannot write %1: %2").arg(m_path, out.errorString());
        return {};
    }
    out.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    out.write(key + '\n');
    if (!out.commit()) {
        m_error = QStringLiteral("cannot write %1: %2").arg(m_path, out.errorString());
        return {};
    }
    m_wasCreated = true;
    return key;
}

} // namespace tollgate
