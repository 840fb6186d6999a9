#include "LogCapture.h"

#include <QLoggingCategory>
#include <QMutex>
#include <algorithm>

namespace tollgate::test {

namespace {
QMutex g_mutex;
QStringList g_lines;

void collect(QtMsgType, const QMessageLogContext &context, const QString &message)
{
    const QMutexLocker lock(&g_mutex);
    g_lines.append(QString::fromLatin1(context.category ? context.category : "default")
                   + QStringLiteral(": ") + message);
}
} // namespace

LogCapture::LogCapture()
{
    QLoggingCategory::setFilterRules(QStringLiteral("*.debug=true"));
    clear();
    m_previous = qInstallMessageHandler(collect);
}

LogCapture::~LogCapture()
{
    qInstallMessageHandler(m_previous);
    QLoggingCategory::setFilterRules(QString());
}

QStringList LogCapture::lines() const
{
    const QMutexLocker lock(&g_mutex);
    return g_lines;
}

QStringList LogCapture::linesWith(const QStringList &parts) const
{
    QStringList found;
    for (const QString &line : lines()) {
        if (std::all_of(parts.begin(), parts.end(),
                        [&](const QString &part) { return line.contains(part); }))
            found.append(line);
    }
    return found;
}

void LogCapture::clear()
{
    const QMutexLocker lock(&g_mutex);
    g_lines.clear();
}

} // namespace tollgate::test
