#pragma once

#include <QByteArray>
#include <QString>

namespace tollgate {

// The virtual key a single-user install generates at first start and keeps in a file only
// its owner can read (0600), so the two export lines stay valid across restarts.
class VirtualKeyFile
{
public:
    explicit VirtualKeyFile(QString path);

    // Reads the key, creating the file with a new random key when there is none. Returns
    // an empty key and sets errorString() when the file cannot be read or written.
    QByteArray loadOrCreate();
    QString errorString() const { return m_error; }
    bool wasCreated() const { return m_wasCreated; }

    // "tg-local-" + 48 hex digits from the system's secure random source.
    static QByteArray generateKey();
    static QString defaultPath();

private:
    QString m_path;
    QString m_error;
    bool m_wasCreated = false;
};

} // namespace tollgate
