package io.pgha.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.OptionalInt;
import java.util.Set;

/**
 * File writes that leave files owned by the server's user. When the JVM runs as root and the server
 * as {@code postgres}, a file pgha writes into the data directory must still belong to
 * {@code postgres}: pg_rewind and pg_basebackup (running as {@code postgres}) overwrite them.
 */
final class Fs {
    static final Set<PosixFilePermission> FILE_600 = PosixFilePermissions.fromString("rw-------");
    static final Set<PosixFilePermission> DIR_700 = PosixFilePermissions.fromString("rwx------");

    /** uid/gid to give files to; empty when the JVM itself is the server's user. */
    private final OptionalInt uid;
    private final OptionalInt gid;

    Fs(OptionalInt uid, OptionalInt gid) {
        this.uid = uid;
        this.gid = gid;
    }

    void own(Path p) {
        if (uid.isEmpty()) {
            return;
        }
        try {
            Files.setAttribute(p, "unix:uid", uid.getAsInt(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", gid.getAsInt(), LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new DataDirectoryException("cannot give " + p + " to the server's user: " + e.getMessage(), e);
        }
    }

    /** Writes {@code content} atomically (temp file + rename) with {@code perms}, owned by the server's user. */
    void write(Path target, String content, Set<PosixFilePermission> perms) {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".pgha-tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(perms));
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            own(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new DataDirectoryException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    void write(Path target, String content) {
        write(target, content, FILE_600);
    }

    /** Creates {@code dir} (and missing parents, left as they are created) mode 0700, owned by the server's user. */
    void mkdir(Path dir) {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir.getParent());
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_700));
            }
            own(dir);
        } catch (IOException e) {
            throw new DataDirectoryException("cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    static boolean isEmptyDir(Path dir) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        } catch (IOException e) {
            throw new DataDirectoryException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Deletes everything inside {@code dir}, keeping {@code dir} itself (its owner and mode stay). */
    static void deleteContents(Path dir) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                deleteTree(p);
            }
        } catch (IOException e) {
            throw new DataDirectoryException("cannot empty " + dir + ": " + e.getMessage(), e);
        }
    }

    static void deleteTree(Path root) {
        try {
            if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }

    static int ownerUid(Path p) {
        try {
            return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new DataDirectoryException("cannot read the owner of " + p + ": " + e.getMessage(), e);
        }
    }
}
