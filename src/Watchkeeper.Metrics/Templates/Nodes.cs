using System.Text;

namespace Watchkeeper.Metrics.Templates;

// The parse tree. Each node keeps its position (a character offset into the source it was parsed from) and prints
// itself as Go prints parse nodes, because execution errors quote the node they failed at ("at <.Labels.job>").

internal abstract class Node(int pos)
{
    public int Pos { get; } = pos;
    public abstract void WriteTo(StringBuilder sb);
    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }
}

internal sealed class ListNode(int pos) : Node(pos)
{
    public List<Node> Nodes { get; } = [];
    public override void WriteTo(StringBuilder sb)
    {
        foreach (var n in Nodes) n.WriteTo(sb);
    }
}

internal sealed class TextNode(int pos, string text) : Node(pos)
{
    public string Text { get; } = text;
    public override void WriteTo(StringBuilder sb) => sb.Append(Go.Quote(Text));
}

internal sealed class PipeNode(int pos, bool isAssign, List<VariableNode> decl) : Node(pos)
{
    public bool IsAssign { get; } = isAssign;
    public List<VariableNode> Decl { get; } = decl;
    public List<CommandNode> Cmds { get; } = [];
    public override void WriteTo(StringBuilder sb)
    {
        if (Decl.Count > 0)
        {
            for (var i = 0; i < Decl.Count; i++)
            {
                if (i > 0) sb.Append(", ");
                Decl[i].WriteTo(sb);
            }
            sb.Append(" := ");
        }
        for (var i = 0; i < Cmds.Count; i++)
        {
            if (i > 0) sb.Append(" | ");
            Cmds[i].WriteTo(sb);
        }
    }
}

internal sealed class ActionNode(int pos, PipeNode pipe) : Node(pos)
{
    public PipeNode Pipe { get; } = pipe;
    public override void WriteTo(StringBuilder sb)
    {
        sb.Append("{{");
        Pipe.WriteTo(sb);
        sb.Append("}}");
    }
}

internal sealed class CommandNode(int pos) : Node(pos)
{
    public List<Node> Args { get; } = [];
    public override void WriteTo(StringBuilder sb)
    {
        for (var i = 0; i < Args.Count; i++)
        {
            if (i > 0) sb.Append(' ');
            if (Args[i] is PipeNode p)
            {
                sb.Append('(');
                p.WriteTo(sb);
                sb.Append(')');
            }
            else Args[i].WriteTo(sb);
        }
    }
}

internal sealed class IdentifierNode(int pos, string ident) : Node(pos)
{
    public string Ident { get; } = ident;
    public TemplateFunction? Function { get; set; }
    public override void WriteTo(StringBuilder sb) => sb.Append(Ident);
}

/// <summary><c>$x.Field1.Field2</c>: Ident[0] is the variable name with its dollar.</summary>
internal sealed class VariableNode(int pos, string[] ident) : Node(pos)
{
    public string[] Ident { get; } = ident;
    public override void WriteTo(StringBuilder sb)
    {
        for (var i = 0; i < Ident.Length; i++)
        {
            if (i > 0) sb.Append('.');
            sb.Append(Ident[i]);
        }
    }
}

internal sealed class DotNode(int pos) : Node(pos)
{
    public override void WriteTo(StringBuilder sb) => sb.Append('.');
}

internal sealed class NilNode(int pos) : Node(pos)
{
    public override void WriteTo(StringBuilder sb) => sb.Append("nil");
}

internal sealed class FieldNode(int pos, string[] ident) : Node(pos)
{
    public string[] Ident { get; } = ident;
    public override void WriteTo(StringBuilder sb)
    {
        foreach (var id in Ident) sb.Append('.').Append(id);
    }
}

internal sealed class ChainNode(int pos, Node node) : Node(pos)
{
    public Node Node { get; } = node;
    public List<string> Field { get; } = [];
    public override void WriteTo(StringBuilder sb)
    {
        if (Node is PipeNode)
        {
            sb.Append('(');
            Node.WriteTo(sb);
            sb.Append(')');
        }
        else Node.WriteTo(sb);
        foreach (var f in Field) sb.Append('.').Append(f);
    }
}

internal sealed class BoolNode(int pos, bool value) : Node(pos)
{
    public bool True { get; } = value;
    public override void WriteTo(StringBuilder sb) => sb.Append(True ? "true" : "false");
}

internal sealed class NumberNode(int pos, string text) : Node(pos)
{
    public string Text { get; } = text;
    public bool IsInt { get; set; }
    public bool IsFloat { get; set; }
    public bool IsChar { get; set; }
    public long Int { get; set; }
    public double Float { get; set; }
    /// <summary>The value an untyped constant takes (Go's idealConstant): float64 if written as a float, else int.</summary>
    public object? Ideal { get; set; }
    public override void WriteTo(StringBuilder sb) => sb.Append(Text);
}

internal sealed class StringNode(int pos, string quoted, string text) : Node(pos)
{
    public string Quoted { get; } = quoted;
    public string Text { get; } = text;
    public override void WriteTo(StringBuilder sb) => sb.Append(Quoted);
}

internal abstract class BranchNode(int pos, PipeNode pipe, ListNode list, ListNode? elseList) : Node(pos)
{
    public PipeNode Pipe { get; } = pipe;
    public ListNode List { get; } = list;
    public ListNode? ElseList { get; } = elseList;
    protected abstract string Keyword { get; }
    public override void WriteTo(StringBuilder sb)
    {
        sb.Append("{{").Append(Keyword).Append(' ');
        Pipe.WriteTo(sb);
        sb.Append("}}");
        List.WriteTo(sb);
        if (ElseList is not null)
        {
            sb.Append("{{else}}");
            ElseList.WriteTo(sb);
        }
        sb.Append("{{end}}");
    }
}

internal sealed class IfNode(int pos, PipeNode pipe, ListNode list, ListNode? elseList) : BranchNode(pos, pipe, list, elseList)
{
    protected override string Keyword => "if";
}

internal sealed class WithNode(int pos, PipeNode pipe, ListNode list, ListNode? elseList) : BranchNode(pos, pipe, list, elseList)
{
    protected override string Keyword => "with";
}

internal sealed class RangeNode(int pos, PipeNode pipe, ListNode list, ListNode? elseList) : BranchNode(pos, pipe, list, elseList)
{
    protected override string Keyword => "range";
}

internal sealed class BreakNode(int pos) : Node(pos)
{
    public override void WriteTo(StringBuilder sb) => sb.Append("{{break}}");
}

internal sealed class ContinueNode(int pos) : Node(pos)
{
    public override void WriteTo(StringBuilder sb) => sb.Append("{{continue}}");
}

internal sealed class TemplateNode(int pos, string name, PipeNode? pipe) : Node(pos)
{
    public string Name { get; } = name;
    public PipeNode? Pipe { get; } = pipe;
    public override void WriteTo(StringBuilder sb)
    {
        sb.Append("{{template ").Append(Go.Quote(Name));
        if (Pipe is not null)
        {
            sb.Append(' ');
            Pipe.WriteTo(sb);
        }
        sb.Append("}}");
    }
}
