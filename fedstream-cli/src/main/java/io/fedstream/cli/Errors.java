package io.fedstream.cli;

import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Turns what went wrong into the one line a person reads: the outermost message that says what the
 * command was doing, with file-system causes spelled out ("no such file"), without exception class
 * names, on one line. Expected mistakes are {@link UserError}s (failure, exit 1) or {@link
 * UsageError}s (exit 2) whose message already names the thing and the fix.
 */
final class Errors {
    private Errors() {}

    /** A mistake of the person running the command, with a message that says how to fix it. */
    static class UserError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UserError(String message) {
            super(message);
        }

        UserError(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A wrong option value found after parsing: exit code 2, like picocli's own. */
    static final class UsageError extends UserError {
        private static final long serialVersionUID = 1L;

        UsageError(String message) {
            super(message);
        }
    }

    /** The one line for {@code t}. */
    static String oneLine(Throwable t) {
        Throwable top = unwrap(t);
        Throwable root = top;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = own(top);
        String rootMessage = own(root);
        if (message == null) {
            message = rootMessage != null ? rootMessage : top.getClass().getSimpleName();
        } else if (root != top && root instanceof FileSystemException fs) {
            // "cannot read ... from f: f" -> "cannot read ... from f: no such file"
            String raw = root.getMessage();
            if (raw != null && message.endsWith(raw)) {
                message = message.substring(0, message.length() - raw.length()) + fileProblem(fs);
            } else if (!message.contains(fileProblem(fs))) {
                message = message + " (" + rootMessage + ")";
            }
        }
        message = firstLine(message);
        if (!(top instanceof UserError)
                && !(top instanceof IllegalArgumentException)
                && !(top instanceof FileSystemException)) {
            message = message + " (--verbose for details)";
        }
        return message;
    }

    /** The first line of {@code s}, trimmed. */
    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        String line = s.strip();
        int nl = line.indexOf('\n');
        return nl < 0 ? line : line.substring(0, nl).strip();
    }

    private static Throwable unwrap(Throwable t) {
        Throwable u = t;
        while ((u instanceof ExecutionException
                        || u instanceof CompletionException
                        || u instanceof InvocationTargetException
                        || u instanceof UncheckedIOException
                        || (u instanceof RuntimeException
                                && u.getClass() == RuntimeException.class
                                && u.getMessage() != null
                                && u.getCause() != null
                                && u.getMessage().equals(u.getCause().toString())))
                && u.getCause() != null) {
            u = u.getCause();
        }
        return u;
    }

    /** A throwable's own message, file-system problems in words. */
    private static String own(Throwable t) {
        if (t instanceof FileSystemException fs) {
            String file = fs.getFile();
            return file == null ? fileProblem(fs) : file + ": " + fileProblem(fs);
        }
        String m = t.getMessage();
        return m == null || m.isBlank() ? null : m;
    }

    private static String fileProblem(FileSystemException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        return e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
    }
}
