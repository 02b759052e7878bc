package io.pgha.spi.support;

import java.io.ByteArrayOutputStream;

/**
 * SEC1 {@code ECPrivateKey} (OpenSSL's {@code BEGIN EC PRIVATE KEY}) to PKCS#8 {@code PrivateKeyInfo},
 * the only form the JDK's {@code KeyFactory} reads. The curve comes from the SEC1 structure's own
 * {@code [0] parameters}, which OpenSSL always writes.
 */
final class Sec1 {
    /** id-ecPublicKey, 1.2.840.10045.2.1 */
    private static final byte[] EC_PUBLIC_KEY_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private Sec1() {
    }

    static byte[] toPkcs8(byte[] sec1, PemTls.PemFile file) {
        try {
            Der seq = Der.read(sec1, 0);
            if (seq.tag != 0x30) {
                throw notSec1(file);
            }
            int at = seq.contentStart;
            byte[] curve = null;
            while (at < seq.end) {
                Der field = Der.read(sec1, at);
                if (field.tag == 0xa0) {
                    Der oid = Der.read(sec1, field.contentStart);
                    if (oid.tag == 0x06) {
                        curve = java.util.Arrays.copyOfRange(sec1, field.contentStart, oid.end);
                    }
                }
                at = field.end;
            }
            if (curve == null) {
                throw new PemException(file, PemException.Problem.UNSUPPORTED_FORMAT, "the EC key in " + file.path()
                        + " names no curve; write it with 'openssl pkcs8 -topk8 -nocrypt'");
            }
            ByteArrayOutputStream alg = new ByteArrayOutputStream();
            alg.writeBytes(EC_PUBLIC_KEY_OID);
            alg.writeBytes(curve);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes(new byte[] {0x02, 0x01, 0x00});
            body.writeBytes(Der.encode(0x30, alg.toByteArray()));
            body.writeBytes(Der.encode(0x04, sec1));
            return Der.encode(0x30, body.toByteArray());
        } catch (ArrayIndexOutOfBoundsException e) {
            throw notSec1(file);
        }
    }

    private static PemException notSec1(PemTls.PemFile file) {
        return new PemException(file, PemException.Problem.NOT_PEM, "the EC PRIVATE KEY block in " + file.path()
                + " is not a SEC1 ECPrivateKey");
    }

    /** One DER element: its tag and where its content starts and it ends. */
    static final class Der {
        final int tag;
        final int contentStart;
        final int end;

        private Der(int tag, int contentStart, int end) {
            this.tag = tag;
            this.contentStart = contentStart;
            this.end = end;
        }

        static Der read(byte[] b, int at) {
            int tag = b[at] & 0xff;
            int len = b[at + 1] & 0xff;
            int start = at + 2;
            if (len > 0x80) {
                int n = len & 0x7f;
                len = 0;
                for (int i = 0; i < n; i++) {
                    len = (len << 8) | (b[start + i] & 0xff);
                }
                start += n;
            }
            if (start + len > b.length) {
                throw new ArrayIndexOutOfBoundsException("DER length");
            }
            return new Der(tag, start, start + len);
        }

        static byte[] encode(int tag, byte[] content) {
            int n = content.length;
            byte[] len;
            if (n < 0x80) {
                len = new byte[] {(byte) n};
            } else if (n < 0x100) {
                len = new byte[] {(byte) 0x81, (byte) n};
            } else if (n < 0x10000) {
                len = new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
            } else {
                len = new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
            }
            byte[] out = new byte[1 + len.length + n];
            out[0] = (byte) tag;
            System.arraycopy(len, 0, out, 1, len.length);
            System.arraycopy(content, 0, out, 1 + len.length, n);
            return out;
        }
    }
}
