package io.sageptx.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.lang.model.element.Modifier;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.NewClassTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.VariableTree;
import com.sun.source.util.DocTrees;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import org.junit.jupiter.api.Test;

/**
 * Every public type and member of the library API (the packages the javadoc jar documents: all but
 * {@code io.sageptx.cli} and the kernel families {@code io.sageptx.kernels.*}) has a doc comment, and
 * every public record documents its components with {@code @param}. The javadoc build checks the rest
 * (HTML, references, tags: doclint "all,-missing", warnings fail the build); this test is the "missing"
 * part without doclint's demand for an {@code @param}/{@code @return} line on every method.
 */
class ApiDocsTest {

    static final Path SOURCES = Path.of("src/main/java");

    static boolean documented(Path file) {
        String p = SOURCES.relativize(file).toString().replace('\\', '/');
        return p.startsWith("io/sageptx/") && !p.startsWith("io/sageptx/cli/") && !p.startsWith("io/sageptx/kernels/");
    }

    @Test
    void publicApiIsDocumented() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(SOURCES)) {
            files = s.filter(p -> p.toString().endsWith(".java") && !p.endsWith("package-info.java")).filter(ApiDocsTest::documented)
                    .sorted().toList();
        }
        assertTrue(files.size() > 50, "sources found: " + files.size());
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> missing = new ArrayList<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null)) {
            Iterable<? extends JavaFileObject> units = fm.getJavaFileObjectsFromPaths(files);
            JavacTask task = (JavacTask) javac.getTask(null, fm, null, List.of("-proc:none"), null, units);
            DocTrees docs = DocTrees.instance(task);
            for (CompilationUnitTree cu : task.parse()) new Scanner(cu, docs, missing).scan(cu, null);
        }
        assertTrue(missing.isEmpty(), missing.size() + " public API elements without a doc comment:\n  "
                + String.join("\n  ", missing));
    }

    private static final class Scanner extends TreePathScanner<Void, Void> {
        private final CompilationUnitTree cu;
        private final DocTrees docs;
        private final List<String> missing;

        Scanner(CompilationUnitTree cu, DocTrees docs, List<String> missing) {
            this.cu = cu;
            this.docs = docs;
            this.missing = missing;
        }

        private String where(Tree t, String what) {
            long line = cu.getLineMap().getLineNumber(docs.getSourcePositions().getStartPosition(cu, t));
            return Path.of(cu.getSourceFile().toUri()).getFileName() + ":" + line + " " + what;
        }

        /** Public (or implicitly public in an interface) and every enclosing type too. */
        private boolean visible(TreePath path, Set<Modifier> mods) {
            Tree parent = path.getParentPath().getLeaf();
            boolean inInterface = parent instanceof ClassTree c && (c.getKind() == Tree.Kind.INTERFACE
                    || c.getKind() == Tree.Kind.ANNOTATION_TYPE);
            if (!mods.contains(Modifier.PUBLIC) && !mods.contains(Modifier.PROTECTED) && !(inInterface && !mods.contains(Modifier.PRIVATE))) {
                return false;
            }
            for (TreePath p = path.getParentPath(); p != null; p = p.getParentPath()) {
                if (p.getLeaf() instanceof ClassTree c) {
                    TreePath up = p.getParentPath();
                    boolean nestedInInterface = up != null && up.getLeaf() instanceof ClassTree u
                            && (u.getKind() == Tree.Kind.INTERFACE || u.getKind() == Tree.Kind.ANNOTATION_TYPE);
                    if (!c.getModifiers().getFlags().contains(Modifier.PUBLIC) && !nestedInInterface) return false;
                }
            }
            return true;
        }

        private boolean hasDoc() {
            String d = docs.getDocComment(getCurrentPath());
            return d != null && !d.isBlank();
        }

        @Override
        public Void visitClass(ClassTree c, Void v) {
            if (visible(getCurrentPath(), c.getModifiers().getFlags())) {
                if (!hasDoc()) {
                    missing.add(where(c, "type " + c.getSimpleName()));
                } else if (c.getKind() == Tree.Kind.RECORD) {
                    String doc = docs.getDocComment(getCurrentPath());
                    for (Tree m : c.getMembers()) {
                        if (m instanceof VariableTree f && !f.getModifiers().getFlags().contains(Modifier.STATIC)) {
                            Matcher pm = Pattern.compile("@param\\s+" + Pattern.quote(f.getName().toString()) + "\\b").matcher(doc);
                            if (!pm.find()) missing.add(where(c, "record " + c.getSimpleName() + " component " + f.getName() + " (@param)"));
                        }
                    }
                }
            }
            return super.visitClass(c, v);
        }

        @Override
        public Void visitMethod(MethodTree m, Void v) {
            boolean override = m.getModifiers().getAnnotations().stream()
                    .anyMatch(a -> a.getAnnotationType().toString().endsWith("Override"));
            boolean compactOrImplicit = m.getName().contentEquals("<init>")
                    && getCurrentPath().getParentPath().getLeaf() instanceof ClassTree c && c.getKind() == Tree.Kind.RECORD
                    && canonical(c, m); // documented by the record's @param tags
            if (!override && !compactOrImplicit && visible(getCurrentPath(), m.getModifiers().getFlags()) && !hasDoc()) {
                String name = m.getName().contentEquals("<init>") ? "constructor" : "method " + m.getName();
                missing.add(where(m, enclosing() + "." + name));
            }
            return null; // not into method bodies (local and anonymous classes)
        }

        @Override
        public Void visitVariable(VariableTree f, Void v) {
            Tree parent = getCurrentPath().getParentPath().getLeaf();
            if (!(parent instanceof ClassTree c)) return null;
            boolean enumConstant = c.getKind() == Tree.Kind.ENUM && f.getInitializer() instanceof NewClassTree;
            boolean recordComponent = c.getKind() == Tree.Kind.RECORD && !f.getModifiers().getFlags().contains(Modifier.STATIC);
            if (recordComponent) return null;
            if ((enumConstant || visible(getCurrentPath(), f.getModifiers().getFlags())) && !hasDoc()
                    && visibleType(getCurrentPath().getParentPath())) {
                missing.add(where(f, enclosing() + "." + f.getName()));
            }
            return null;
        }

        /** A record's canonical (or compact) constructor: its parameters are the components, in order. */
        private static boolean canonical(ClassTree record, MethodTree m) {
            List<String> components = new ArrayList<>();
            for (Tree t : record.getMembers()) {
                if (t instanceof VariableTree f && !f.getModifiers().getFlags().contains(Modifier.STATIC)) {
                    components.add(f.getName().toString());
                }
            }
            List<String> params = m.getParameters().stream().map(p -> p.getName().toString()).toList();
            return params.isEmpty() || params.equals(components);
        }

        private boolean visibleType(TreePath classPath) {
            ClassTree c = (ClassTree) classPath.getLeaf();
            return visible(classPath, c.getModifiers().getFlags());
        }

        private String enclosing() {
            for (TreePath p = getCurrentPath().getParentPath(); p != null; p = p.getParentPath()) {
                if (p.getLeaf() instanceof ClassTree c) return c.getSimpleName().toString();
            }
            return "?";
        }
    }
}
