package io.sageptx.ptx;

import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.net.URL;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.stringtemplate.v4.Interpreter;
import org.stringtemplate.v4.ST;
import org.stringtemplate.v4.STErrorListener;
import org.stringtemplate.v4.STGroup;
import org.stringtemplate.v4.STGroupFile;
import org.stringtemplate.v4.ModelAdaptor;
import org.stringtemplate.v4.misc.STMessage;
import org.stringtemplate.v4.misc.STNoSuchPropertyException;

/**
 * Renders the PTX templates under {@code src/main/resources/templates/}. Groups are loaded by URL from
 * the classpath with {@code $...$} delimiters; any template error (syntax, missing attribute, unknown
 * property) throws instead of being printed, so a broken template can never yield half a kernel.
 * Records are readable from templates through their accessors. Templates only lay out text: every
 * number is computed in Java and passed in.
 */
public final class TemplateRenderer {

    private static final Map<String, STGroup> GROUPS = new ConcurrentHashMap<>();

    private TemplateRenderer() {
    }

    /** Renders template {@code name} of group file {@code templates/<group>.stg} with the given attributes. */
    public static String render(String group, String name, Map<String, ?> attributes) {
        STGroup g = GROUPS.computeIfAbsent(group, TemplateRenderer::load);
        synchronized (g) {
            ST st = g.getInstanceOf(name);
            if (st == null) {
                throw new IllegalStateException("template " + group + "." + name + " does not exist");
            }
            attributes.forEach(st::add);
            return st.render();
        }
    }

    private static STGroup load(String group) {
        String path = "templates/" + group + ".stg";
        URL url = TemplateRenderer.class.getClassLoader().getResource(path);
        if (url == null) {
            throw new IllegalStateException("template group " + path + " is not on the classpath");
        }
        STGroupFile g = new STGroupFile(url, "UTF-8", '$', '$');
        g.setListener(new ThrowingListener(path));
        g.registerModelAdaptor(Record.class, new RecordAdaptor());
        g.load();
        return g;
    }

    /** Template errors become exceptions. */
    private static final class ThrowingListener implements STErrorListener {
        private final String path;

        ThrowingListener(String path) {
            this.path = path;
        }

        private void fail(STMessage msg) {
            throw new IllegalStateException("template " + path + ": " + msg);
        }

        @Override
        public void compileTimeError(STMessage msg) {
            fail(msg);
        }

        @Override
        public void runTimeError(STMessage msg) {
            fail(msg);
        }

        @Override
        public void IOError(STMessage msg) {
            fail(msg);
        }

        @Override
        public void internalError(STMessage msg) {
            fail(msg);
        }
    }

    /** Lets templates read record components ({@code $mma.a0$} calls {@code a0()}) and other no-argument methods. */
    private static final class RecordAdaptor implements ModelAdaptor<Record> {
        private final Map<String, Method> cache = new ConcurrentHashMap<>();

        @Override
        public Object getProperty(Interpreter interp, ST self, Record model, Object property, String propertyName)
                throws STNoSuchPropertyException {
            Class<?> type = model.getClass();
            Method m = cache.computeIfAbsent(type.getName() + "#" + propertyName, k -> find(type, propertyName));
            if (m == null) {
                throw new STNoSuchPropertyException(null, model, propertyName);
            }
            try {
                return m.invoke(model);
            } catch (ReflectiveOperationException e) {
                throw new STNoSuchPropertyException(e, model, propertyName);
            }
        }

        private static Method find(Class<?> type, String name) {
            for (RecordComponent c : type.getRecordComponents()) {
                if (c.getName().equals(name)) {
                    Method m = c.getAccessor();
                    m.setAccessible(true);
                    return m;
                }
            }
            try {
                Method m = type.getMethod(name); // derived values, e.g. TileCopy.passes()
                return m.getParameterCount() == 0 && m.getReturnType() != void.class ? m : null;
            } catch (NoSuchMethodException e) {
                return null;
            }
        }
    }
}
