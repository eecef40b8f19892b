namespace Watchkeeper.Metrics.RemoteWrite;

/// <summary>
/// Checks a snappy block (the raw format remote write uses, not the framed one) before it is decompressed: the
/// length header, then literals and back-references that must produce exactly that many bytes and consume exactly the
/// input. A decompressor that stops once its output is full would otherwise accept garbage after the block.
/// </summary>
public static class SnappyBlock
{
    /// <summary>Null when <paramref name="block"/> is one well-formed block; otherwise what is wrong with it.</summary>
    public static string? Validate(ReadOnlySpan<byte> block, out long decodedLength)
    {
        decodedLength = 0;
        var pos = 0;
        ulong header = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (pos >= block.Length) return "truncated length header";
            if (shift > 28) return "length header too long";
            var b = block[pos++];
            header |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) break;
        }
        if (header > uint.MaxValue) return "length header out of range";
        long written = 0;
        while (pos < block.Length)
        {
            var tag = block[pos++];
            long length;
            switch (tag & 3)
            {
                case 0: // literal: length - 1 in the tag's upper 6 bits, or in the next 1-4 bytes for 60..63
                {
                    var n = tag >> 2;
                    if (n < 60)
                    {
                        length = n + 1;
                    }
                    else
                    {
                        var bytes = n - 59;
                        if (pos + bytes > block.Length) return "truncated literal length";
                        long l = 0;
                        for (var i = 0; i < bytes; i++) l |= (long)block[pos + i] << (8 * i);
                        pos += bytes;
                        length = l + 1;
                    }
                    if (length > block.Length - pos) return "literal runs past the end of the input";
                    pos += (int)length;
                    written += length;
                    break;
                }
                case 1: // copy with a 1-byte offset
                {
                    if (pos + 1 > block.Length) return "truncated copy";
                    length = 4 + ((tag >> 2) & 7);
                    var offset = ((tag & 0xe0) << 3) | block[pos];
                    pos += 1;
                    if (offset == 0 || offset > written) return "copy offset out of range";
                    written += length;
                    break;
                }
                case 2: // copy with a 2-byte offset
                {
                    if (pos + 2 > block.Length) return "truncated copy";
                    length = 1 + (tag >> 2);
                    var offset = block[pos] | (block[pos + 1] << 8);
                    pos += 2;
                    if (offset == 0 || offset > written) return "copy offset out of range";
                    written += length;
                    break;
                }
                default: // copy with a 4-byte offset
                {
                    if (pos + 4 > block.Length) return "truncated copy";
                    length = 1 + (tag >> 2);
                    var offset = (long)(block[pos] | (block[pos + 1] << 8) | (block[pos + 2] << 16)) | ((long)block[pos + 3] << 24);
                    pos += 4;
                    if (offset == 0 || offset > written) return "copy offset out of range";
                    written += length;
                    break;
                }
            }
            if (written > (long)header) return $"block decodes to more than the {header} bytes its header announces";
        }
        if (written != (long)header) return $"block decodes to {written} bytes, its header announces {header}";
        decodedLength = written;
        return null;
    }
}
