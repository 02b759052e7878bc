package io.pgha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.internal.InternalAccess;
import io.pgha.internal.decision.PlantedBug;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What a user of pgha-core can reach: the public API packages ({@code io.pgha}, {@code io.pgha.health},
 * {@code io.pgha.spi}, {@code io.pgha.spi.support}) name no {@code io.pgha.internal} type in any public or protected
 * signature, so the engine, the planted bugs and the rest of the internals are reachable only by
 * naming an internal package, which the javadoc and the API baseline leave out. The one door
 * pgha's own modules use, {@link InternalAccess}, refuses callers outside pgha-core and the test kit.
 */
class PublicApiSurfaceTest {
    private static final Set<String> API_PACKAGES = Set.of("io.pgha", "io.pgha.health", "io.pgha.spi", "io.pgha.spi.support");

    @Test
    void noPublicOrProtectedSignatureOfTheApiPackagesNamesAnInternalType() throws Exception {
        List<Class<?>> api = apiClasses();
        assertThat(api).as("API classes found").extracting(Class::getName).contains("io.pgha.HaNode", "io.pgha.HaNode$Builder",
                "io.pgha.spi.Dcs", "io.pgha.spi.PostgresController");
        Set<String> leaks = new TreeSet<>();
        for (Class<?> c : api) {
            String where = c.getName();
            check(c.getGenericSuperclass(), where + " extends", leaks);
            for (Type t : c.getGenericInterfaces()) {
                check(t, where + " implements", leaks);
            }
            for (Field f : c.getDeclaredFields()) {
                if (visible(f)) {
                    check(f.getGenericType(), where + "." + f.getName(), leaks);
                }
            }
            for (Method m : c.getDeclaredMethods()) {
                if (visible(m) && !m.isSynthetic() && !m.isBridge()) {
                    check(m.getGenericReturnType(), where + "." + m.getName() + "() returns", leaks);
                    signature(m, where + "." + m.getName(), leaks);
                }
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (visible(k) && !k.isSynthetic()) {
                    signature(k, where + ".<init>", leaks);
                }
            }
        }
        assertThat(leaks).as("internal types in the public API").isEmpty();
    }

    @Test
    void plantedBugsCannotBeSetFromOutsidePghaCoreAndTheTestKit() {
        // this test class is not pgha-core's code (its own classes folder) nor the test kit's package
        assertThatThrownBy(() -> InternalAccess.plantBug(HaNode.builder(), PlantedBug.NO_FENCING))
                .isInstanceOf(IllegalCallerException.class).hasMessageContaining("not API");
    }

    @Test
    void nobodyButHaNodeRegistersTheAccessor() {
        InternalAccess.Accessor mine = new InternalAccess.Accessor() {
            @Override
            public io.pgha.internal.engine.HaEngine engine(HaNode node) {
                throw new AssertionError();
            }

            @Override
            public void plantBug(HaNode.Builder builder, PlantedBug bug) {
                throw new AssertionError();
            }
        };
        HaNode.builder(); // HaNode has registered its own
        assertThatThrownBy(() -> InternalAccess.register(mine)).isInstanceOf(IllegalCallerException.class);
    }

    private static boolean visible(Member m) {
        return Modifier.isPublic(m.getModifiers()) || Modifier.isProtected(m.getModifiers());
    }

    private static void signature(Executable e, String where, Set<String> leaks) {
        for (Type t : e.getGenericParameterTypes()) {
            check(t, where + "(...) takes", leaks);
        }
        for (Type t : e.getGenericExceptionTypes()) {
            check(t, where + "(...) throws", leaks);
        }
    }

    private static void check(Type t, String where, Set<String> leaks) {
        check(t, where, leaks, new HashSet<>());
    }

    private static void check(Type t, String where, Set<String> leaks, Set<Type> seen) {
        if (t == null || !seen.add(t)) {
            return;
        }
        if (t instanceof Class<?> c) {
            while (c.isArray()) {
                c = c.getComponentType();
            }
            if (c.getPackageName().startsWith("io.pgha.internal")) {
                leaks.add(where + " " + c.getName());
            }
        } else if (t instanceof ParameterizedType p) {
            check(p.getRawType(), where, leaks, seen);
            for (Type a : p.getActualTypeArguments()) {
                check(a, where, leaks, seen);
            }
        } else if (t instanceof WildcardType w) {
            for (Type b : w.getUpperBounds()) {
                check(b, where, leaks, seen);
            }
            for (Type b : w.getLowerBounds()) {
                check(b, where, leaks, seen);
            }
        } else if (t instanceof GenericArrayType g) {
            check(g.getGenericComponentType(), where, leaks, seen);
        } else if (t instanceof TypeVariable<?> v) {
            for (Type b : v.getBounds()) {
                check(b, where, leaks, seen);
            }
        }
    }

    /** Every public class (and public or protected nested class) of the API packages, from pgha-core's classes. */
    private static List<Class<?>> apiClasses() throws IOException, URISyntaxException, ClassNotFoundException {
        Path root = Path.of(HaNode.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.isDirectory(root) ? Files.walk(root) : Stream.empty()) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
                String name = root.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", "");
                String pkg = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : "";
                if (!API_PACKAGES.contains(pkg) || name.endsWith("package-info")) {
                    continue;
                }
                Class<?> c = Class.forName(name, false, HaNode.class.getClassLoader());
                if (reachable(c)) {
                    out.add(c);
                }
            }
        }
        assertThat(out).as("pgha-core's classes are a folder in this build").isNotEmpty();
        return out;
    }

    private static boolean reachable(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            int m = k.getModifiers();
            boolean ok = k.getDeclaringClass() == null ? Modifier.isPublic(m) : Modifier.isPublic(m) || Modifier.isProtected(m);
            if (!ok || k.isAnonymousClass() || k.isLocalClass() || k.isSynthetic()) {
                return false;
            }
        }
        return true;
    }
}
