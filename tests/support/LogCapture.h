#pragma once

#include <QString>
#include <QStringList>
#include <QtMessageHandler>

namespace tollgate::test {

// Collects every message of Qt's logging (qDebug to qCritical, every category, from every
// thread) while it exists, with debug output of all categories turned on, so a test can
// check what the gateway logged. One at a time.
class LogCapture
{
public:
    LogCapture();
    ~LogCapture();
    LogCapture(const LogCapture &) = delete;
    LogCapture &operator=(const LogCapture &) = delete;

    QStringList lines() const; // "category: message", in order
    // The lines that contain every one of parts.
    QStringList linesWith(const QStringList &parts) const;
    void clear();

private:
    QtMessageHandler m_previous = nullptr;
};

} // namespace tollgate::test
