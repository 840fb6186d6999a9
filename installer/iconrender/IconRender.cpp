// tollgate_iconrender: renders the app icon (one SVG) into what each platform's packaging
// wants, at build time, with nothing but Qt Gui and Qt Svg:
//
//   tollgate_iconrender SVG OUTDIR
//
//   OUTDIR/hicolor/<N>x<N>/apps/tollgate.png   N = 16 22 24 32 48 64 128 256 512
//                                              (freedesktop Icon Theme Specification)
//   OUTDIR/tollgate.ico                        Windows: 16 to 256 px, one PNG per size
//   OUTDIR/Tollgate.icns                       macOS: 16 to 1024 px (512@2x), PNG entries
//
// Qt's own ico plugin writes a single image per file, and iconutil exists only on macOS, so
// both containers are written here; both formats are a small directory of PNG images.
#include <QBuffer>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QPainter>
#include <QSaveFile>
#include <QSvgRenderer>
#include <QtEndian>
#include <cstdio>
#include <vector>

namespace {

constexpr int kHicolorSizes[] = {16, 22, 24, 32, 48, 64, 128, 256, 512};
// Windows picks the entry nearest to what it draws: small-icon views, the taskbar, Explorer's
// large and extra-large views. 256 is the largest an ICO entry can describe.
constexpr int kIcoSizes[] = {16, 20, 24, 32, 40, 48, 64, 128, 256};

struct IcnsEntry
{
    const char *type; // OSType of a PNG-capable element
    int size;
};
// The element types iconutil writes for an .iconset of 16, 32, 128, 256 and 512 points at
// 1x and 2x; all of them take PNG data (macOS 10.7 and later).
constexpr IcnsEntry kIcnsEntries[] = {
    {"icp4", 16},  {"ic11", 32},  {"icp5", 32},  {"ic12", 64},  {"ic07", 128},
    {"ic13", 256}, {"ic08", 256}, {"ic14", 512}, {"ic09", 512}, {"ic10", 1024},
};

QByteArray renderPng(QSvgRenderer &renderer, int size)
{
    QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    {
        QPainter painter(&image);
        painter.setRenderHints(QPainter::Antialiasing | QPainter::SmoothPixmapTransform);
        renderer.render(&painter, QRectF(0, 0, size, size));
    }
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    if (!image.convertToFormat(QImage::Format_ARGB32).save(&buffer, "PNG"))
        return {};
    return png;
}

bool writeFile(const QString &path, const QByteArray &data)
{
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        return false;
    QSaveFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(data) == data.size() && file.commit();
}

template<typename T>
void appendLittleEndian(QByteArray *out, T value)
{
    char bytes[sizeof(T)];
    qToLittleEndian(value, bytes);
    out->append(bytes, sizeof(T));
}

template<typename T>
void appendBigEndian(QByteArray *out, T value)
{
    char bytes[sizeof(T)];
    qToBigEndian(value, bytes);
    out->append(bytes, sizeof(T));
}

// ICONDIR (6 bytes), one ICONDIRENTRY (16 bytes) per image, then the images. Windows Vista
// and later read PNG-compressed images in place of the older DIB ones; a width or height of
// 0 means 256.
QByteArray icoFile(const std::vector<std::pair<int, QByteArray>> &images)
{
    QByteArray out;
    appendLittleEndian<quint16>(&out, 0); // reserved
    appendLittleEndian<quint16>(&out, 1); // type: icon
    appendLittleEndian<quint16>(&out, quint16(images.size()));
    quint32 offset = quint32(6 + 16 * images.size());
    for (const auto &[size, png] : images) {
        const auto side = quint8(size >= 256 ? 0 : size);
        appendLittleEndian<quint8>(&out, side);
        appendLittleEndian<quint8>(&out, side);
        appendLittleEndian<quint8>(&out, 0); // no palette
        appendLittleEndian<quint8>(&out, 0); // reserved
        appendLittleEndian<quint16>(&out, 1); // colour planes
        appendLittleEndian<quint16>(&out, 32); // bits per pixel
        appendLittleEndian<quint32>(&out, quint32(png.size()));
        appendLittleEndian<quint32>(&out, offset);
        offset += quint32(png.size());
    }
    for (const auto &image : images)
        out += image.second;
    return out;
}

// 'icns', the file length, then per element its type, its length (header included) and data;
// every number big-endian.
QByteArray icnsFile(const std::vector<std::pair<QByteArray, QByteArray>> &elements)
{
    QByteArray body;
    for (const auto &[type, png] : elements) {
        body += type;
        appendBigEndian<quint32>(&body, quint32(8 + png.size()));
        body += png;
    }
    QByteArray out("icns");
    appendBigEndian<quint32>(&out, quint32(8 + body.size()));
    return out + body;
}

int fail(const QString &message)
{
    std::fprintf(stderr, "tollgate_iconrender: %s\n", qPrintable(message));
    return 1;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList arguments = QCoreApplication::arguments();
    if (arguments.size() != 3) {
        std::fputs("usage: tollgate_iconrender SVG OUTDIR\n", stderr);
        return 2;
    }
    QSvgRenderer renderer(arguments.at(1));
    if (!renderer.isValid())
        return fail(QStringLiteral("cannot read %1").arg(arguments.at(1)));
    const QDir outDir(arguments.at(2));

    for (const int size : kHicolorSizes) {
        const QString path =
            outDir.filePath(QStringLiteral("hicolor/%1x%1/apps/tollgate.png").arg(size));
        const QByteArray png = renderPng(renderer, size);
        if (png.isEmpty() || !writeFile(path, png))
            return fail(QStringLiteral("cannot write %1").arg(path));
    }

    std::vector<std::pair<int, QByteArray>> icoImages;
    for (const int size : kIcoSizes) {
        icoImages.emplace_back(size, renderPng(renderer, size));
        if (icoImages.back().second.isEmpty())
            return fail(QStringLiteral("cannot render %1 px").arg(size));
    }
    const QString icoPath = outDir.filePath(QStringLiteral("tollgate.ico"));
    if (!writeFile(icoPath, icoFile(icoImages)))
        return fail(QStringLiteral("cannot write %1").arg(icoPath));

    std::vector<std::pair<QByteArray, QByteArray>> icnsElements;
    for (const IcnsEntry &entry : kIcnsEntries) {
        icnsElements.emplace_back(QByteArray(entry.type), renderPng(renderer, entry.size));
        if (icnsElements.back().second.isEmpty())
            return fail(QStringLiteral("cannot render %1 px").arg(entry.size));
    }
    const QString icnsPath = outDir.filePath(QStringLiteral("Tollgate.icns"));
    if (!writeFile(icnsPath, icnsFile(icnsElements)))
        return fail(QStringLiteral("cannot write %1").arg(icnsPath));
    return 0;
}
