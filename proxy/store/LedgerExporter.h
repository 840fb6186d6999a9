#pragma once

#include "RequestRecord.h"

#include <QByteArray>
#include <QIODevice>

namespace tollgate {

// Writes request-log rows as CSV (RFC 4180, opens cleanly in a spreadsheet) or JSON Lines,
// with stable snake_case column names. Costs are exact decimals, never floats; an
// unpriced row has an empty cost and unpriced = 1.
class LedgerExporter
{
public:
    enum class Format { Csv, JsonLines };

    LedgerExporter(QIODevice *device, Format format);

    bool writeHeader();
    bool writeRow(const RequestRecord &record);
    qint64 rowCount() const { return m_rows; }

    static QList<QByteArray> columnNames();
    // A spreadsheet runs a cell starting with = + - @ as a formula: such text cells get a
    // leading apostrophe (client-supplied tags and session ids are not trusted).
    static QByteArray csvField(const QByteArray &text, bool isText);

private:
    QIODevice *m_device;
    Format m_format;
    qint64 m_rows = 0;
};

} // namespace tollgate
